"""The drift desk in a real book: a volatility regime change in the simulator raises `DriftDetected` on the
bus, calls the retraining trigger, counts a Prometheus metric and shows in GET /api/v1/drift; a book
with no change stays quiet; the alarm rate of a check with no drift is alpha within a binomial tolerance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.live import api
from ultimate_nb.live.strategies import SignalStrategy
from ultimate_nb.live.system import TradingSystem
from ultimate_nb.ml.drift import DriftDesk, DriftDetected, DriftSettings, detect_drift
from ultimate_nb.ml.inference import TorchBackend

TOKEN = "d" * 32
FEATS = ("ret_1", "ret_5")


def _book(tmp_path, trigger):
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False},
                                 "market": {"bar_seconds": 1, "symbols": ["AAPL"], "initial_prices": [190.0],
                                            "vols": [0.28]}}, env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=1_767_275_400_000_000_000),
                         strategy=SignalStrategy(features=FEATS, threshold=0.6, order_qty=10))
    torch.manual_seed(1)
    book.inference.load("signal", TorchBackend(torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Sigmoid()), n_in=2))
    cfg = DriftSettings(reference_size=60, window_size=30, check_every=10, stride=5, permutations=99,
                        models=["signal"], alpha=0.01)
    desk = book.add_desk("drift", DriftDesk.from_settings(book, cfg, trigger=trigger))
    return book, desk


def test_volatility_regime_change_raises_alarm_event_trigger_metric_and_route(tmp_path):
    retrain, seen = [], []
    book, desk = _book(tmp_path, retrain.append)
    book.bus.subscribe(DriftDetected, seen.append)
    book.run_simulated(4 * 500)                              # quiet
    assert seen == []
    book.simulator.shock_volatility("AAPL", 4.0)             # a new regime: volatility x4
    book.run_simulated(4 * 250)
    assert seen and retrain == seen
    assert book.metrics.value("ultimate_drift_alarms_total", stream=seen[0].stream, detector=seen[0].detector) >= 1
    client = TestClient(api.create_rest_app(book, TOKEN))
    assert client.get("/api/v1/drift").status_code == 401
    r = client.get("/api/v1/drift", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    body = r.json()
    assert body["triggered"] == len(retrain) and body["streams"]["AAPL:features"]["alarms"] >= 1
    assert api.stream_types(book)["DriftDetected"] is DriftDetected
    book.close()


def test_desk_counts_a_failing_model_and_goes_on(tmp_path):
    book, desk = _book(tmp_path, None)
    book.inference.unload("signal")
    book.strategies[0].on_bar = lambda bar: None             # the strategy would fail too: silence it
    book.run_simulated(4 * 50)
    assert desk.dropped["UnknownModelError"] > 0 and desk.monitors["AAPL:features"].seen >= 0
    book.close()


def test_no_drift_alarm_rate_is_alpha_within_binomial_tolerance():
    rng = np.random.default_rng(123)
    trials, alpha = 300, 0.05
    hits = sum(detect_drift(rng.normal(size=(200, 4)), rng.normal(size=(80, 4)), alpha=alpha,
                            permutations=49, rng=rng).drift for _ in range(trials))
    tol = 4 * math.sqrt(alpha * (1 - alpha) / trials)
    assert abs(hits / trials - alpha) < tol, hits / trials
