"""The monitoring desk in a real book: champion and challenger scored per version on the same inputs,
GET /api/v1/models/monitoring, Prometheus metrics per version, a promotion starting a new A/B test, the
A/B split by strategy switching a strategy to the challenger, and apps/models.ipynb rendering both desks
headless against the book's REST API."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import nbclient
import nbformat
import torch
import uvicorn
from conftest import eventually, free_port
from fastapi.testclient import TestClient

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.store import Journal, make_engine
from ultimate_nb.live import api
from ultimate_nb.live.strategies import SignalStrategy
from ultimate_nb.live.system import TradingSystem
from ultimate_nb.ml.drift import DriftDesk, DriftSettings
from ultimate_nb.ml.inference import TorchBackend
from ultimate_nb.ml.monitoring import MonitoringDesk, MonitoringSettings, assign_arm

REPO = Path(__file__).resolve().parents[1]
TOKEN = "m" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _net(seed: int):
    torch.manual_seed(seed)
    return TorchBackend(torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Sigmoid()), n_in=2)


def _book(tmp_path, strategies, mset: MonitoringSettings):
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False},
                                 "market": {"bar_seconds": 1, "symbols": ["AAPL", "MSFT"],
                                            "initial_prices": [190.0, 410.0], "vols": [0.28, 0.25]}}, env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=1_767_275_400_000_000_000), strategy=strategies)
    book.inference.load("signal", _net(0), version="v1")
    book.inference.load("signal-next", _net(1), version="v2")
    desk = book.add_desk("monitoring", MonitoringDesk.from_settings(book, mset))
    return book, desk


def _sig(sid="signal", symbols=()):
    s = SignalStrategy(features=("ret_1", "ret_5"), threshold=0.5, order_qty=10, strategy_id=sid)
    s.symbols = tuple(symbols) if symbols else s.symbols
    return s


def test_shadow_scores_both_versions_serves_route_and_restarts_test_on_promotion(tmp_path):
    mset = MonitoringSettings(champion="signal", challenger="signal-next", min_samples=20, flush_every=8)
    book, desk = _book(tmp_path, _sig(), mset)
    book.run_simulated(4 * 120)
    client = TestClient(api.create_rest_app(book, TOKEN))
    assert client.get("/api/v1/models/monitoring").status_code == 401
    body = client.get("/api/v1/models/monitoring", headers=AUTH, params={"points": 10}).json()
    assert {(v["model"], v["version"]) for v in body["versions"]} == {("signal", "v1"), ("signal-next", "v2")}
    assert body["ab"]["champion"] == "signal@v1" and body["ab"]["n"] > 100 and len(body["history"]) == 10
    assert client.get("/api/v1/models", headers=AUTH).status_code == 200          # the server's route is intact
    assert book.metrics.value("ultimate_model_outcomes_total", model="signal", version="v1") > 100
    book.inference.load("signal", _net(2), version="v3")                             # a promotion
    book.run_simulated(4 * 20)
    snap = desk.snapshot()
    assert snap["ab"]["champion"] == "signal@v3" and snap["ab"]["n"] < 50
    assert any(v["version"] == "v3" for v in snap["versions"])
    book.close()                                                                    # flushes the buffer
    j = Journal(make_engine(None, tmp_path))
    assert sum(1 for e in j.read(stream="models") if e.type == "ModelOutcome") > 200
    j.close()


def test_ab_split_by_strategy_switches_the_challengers_strategy_and_back(tmp_path):
    sids = [f"s{i}" for i in range(40)]
    a = next(s for s in sids if assign_arm(s, 0.5, "t") == "challenger")
    b = next(s for s in sids if assign_arm(s, 0.5, "t") == "champion")
    mset = MonitoringSettings(champion="signal", challenger="signal-next", mode="ab", split_by="strategy",
                              challenger_share=0.5, salt="t", journal=False)
    strategies = [_sig(a, ["AAPL"]), _sig(b, ["MSFT"])]
    book, desk = _book(tmp_path, strategies, mset)
    assert strategies[0].model == "signal-next" and strategies[1].model == "signal"
    book.run_simulated(4 * 60)
    served = desk.snapshot()["served"]
    assert served["challenger"] > 0 and served["champion"] > 0
    assert desk.model_for(a, "AAPL") == "signal-next"
    book.close()
    assert strategies[0].model == "signal"


def test_models_app_renders_drift_ab_and_versions_from_the_book(tmp_path, monkeypatch):
    mset = MonitoringSettings(champion="signal", challenger="signal-next", min_samples=20, journal=False)
    book, _ = _book(tmp_path, _sig(), mset)
    book.add_desk("drift", DriftDesk.from_settings(book, DriftSettings(reference_size=20, window_size=10,
                                                                       check_every=5, permutations=19)))
    book.run_simulated(4 * 80)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api.create_rest_app(book, TOKEN), host="127.0.0.1", port=port,
                                           log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    eventually(lambda: server.started, timeout=20)
    try:
        for k in [k for k in os.environ if k.startswith("ULTIMATE_")]:
            monkeypatch.delenv(k)
        monkeypatch.setenv("ULTIMATE_API_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("ULTIMATE_SERVER__API_TOKEN", TOKEN)
        nb = nbformat.read(REPO / "apps" / "models.ipynb", as_version=4)
        nbclient.NotebookClient(nb, kernel_name="python3", timeout=90,
                                resources={"metadata": {"path": str(REPO / "apps")}}).execute()
    finally:
        server.should_exit = True
        th.join(10)
        book.close()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    page = "\n".join(s["state"]["value"] for s in states.values() if s["model_name"] == "HTMLModel")
    assert "AAPL:features" in page and "signal@v1 vs signal-next@v2" in page and "signal-next" in page
    assert "data:image/png;base64" in page and "unreachable" not in page


def _const(p: float):
    "A model of two inputs that always answers `p`."
    net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Sigmoid())
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.fill_(float(torch.logit(torch.tensor(p))))
    return TorchBackend(net, n_in=2)


def test_ab_split_by_instrument_routes_each_instruments_decisions_to_its_arm(tmp_path):
    assert (assign_arm("AAPL", 0.5, "t"), assign_arm("MSFT", 0.5, "t")) == ("champion", "challenger")
    mset = MonitoringSettings(champion="signal", challenger="signal-next", mode="ab", split_by="instrument",
                              challenger_share=0.5, salt="t", journal=False)
    strategy = _sig()
    book, desk = _book(tmp_path, strategy, mset)
    book.inference.load("signal", _const(0.9), version="v1")          # the champion buys
    book.inference.load("signal-next", _const(0.1), version="v2")     # the challenger stays flat
    book.run_simulated(4 * 60)
    assert strategy.model == "signal"                                  # one strategy, two arms
    assert strategy.last_prob["AAPL"] > 0.85 and strategy.last_prob["MSFT"] < 0.15
    assert book.position("AAPL", strategy.strategy_id) == 10 and book.position("MSFT", strategy.strategy_id) == 0
    served = desk.snapshot()["served"]
    assert served["champion"] > 0 and served["challenger"] > 0
    book.close()
