"""One MLOps cycle in one process, on embedded defaults (SQLite registry and journal, local artifacts),
small: train -> register champion -> a SignalStrategy book serves `models:/signal@champion` -> a regime
change in the simulator -> drift alarm (the champion's errors) -> retrain on the book's bars (the
pipeline's library function, in-process) -> challenger v2 in shadow on the monitoring desk -> promoted by
the Diebold-Mariano test on its held-out window -> the running book serves v2, no restart.

The market is bullish (P(next bar up) = 0.7) until the regime change, then twice as volatile and
bearish (P(up) = 0.3): a champion trained on the bull market is worse afterwards, and a challenger
trained on bars after the alarm is better on a later held-out window, so its promotion is deserved."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from conftest import eventually
from fastapi.testclient import TestClient

from mlops_support import mlflow_template, mlops_settings  # noqa: F401  (fixtures)
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Bar
from ultimate_nb.data.simulator import TRADING_SECONDS_PER_YEAR, MarketSimulator, bars_frame
from ultimate_nb.live import api
from ultimate_nb.live.strategies import SignalStrategy
from ultimate_nb.live.system import TradingSystem
from ultimate_nb.ml.drift import DriftDesk, DriftDetected, DriftSettings
from ultimate_nb.ml.mlops import (CHALLENGER, CHAMPION, ModelJournal, alias_version, promote_if_better,
                                  start_tracking, train_and_register)

TOKEN = "c" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = pd.Timestamp("2026-03-02", tz="UTC")           # a Monday, 00:00
BAR_S, TICK_MS, VOL = 1800, 900_000, 0.08               # half-hour bars of two ticks, 8% volatility
BARS_PER_DAY, TICKS_PER_BAR = 86_400 // BAR_S, BAR_S * 1000 // TICK_MS
DT_BAR = BAR_S / TRADING_SECONDS_PER_YEAR
EDGE = 0.524                                            # Phi(0.524) = 0.7: P(next bar up)
MU_BULL = EDGE * VOL * math.sqrt(DT_BAR) / DT_BAR + VOL**2 / 2
MU_BEAR = -EDGE * 2 * VOL * math.sqrt(DT_BAR) / DT_BAR + (2 * VOL) ** 2 / 2
TRAIN = dict(hidden=8, epochs=150, lr=1e-2, weight_decay=0.1, seed=0)
MARKET = dict(symbols=["AAPL"], initial_prices=[190.0], vols=[VOL], vol_of_vol=0.0, bar_seconds=BAR_S,
              tick_ms=TICK_MS, trade_rate=0.01, drift=MU_BULL, seed=7)


def day(k: float) -> str:
    return (START + pd.Timedelta(days=k)).strftime("%Y-%m-%d")


def run_days(book: TradingSystem, days: float) -> None:
    book.run_simulated(int(round(days * BARS_PER_DAY)) * TICKS_PER_BAR)


def served(client: TestClient) -> str:
    return client.get("/api/v1/models", headers=AUTH).json()["models"]["signal"]["version"]


def test_one_cycle_from_champion_to_promoted_challenger_served_without_restart(tmp_path, mlops_settings):
    s = mlops_settings.model_copy(update={"poll_s": 0.2})
    tr, mj = start_tracking(s), ModelJournal.from_settings(s)
    # 1. train v1 on two weeks of bull-market history ending at the book's start; the first is champion
    history = bars_frame(MarketSimulator(load_settings(overrides={"market": MARKET}, env_file=None).market,
                                         START.value, np.random.default_rng(1), mu=MU_BULL).history(14 * BARS_PER_DAY))
    archive = [history.xs("AAPL", level="symbol")]                  # the bar store the retraining reads
    v1 = train_and_register(archive[0], day(-8), day(-4), day(-1), s, tmp_path / "v1", tracking=tr, journal=mj,
                            who="test", **TRAIN)
    assert promote_if_better(tr, v1.X_holdout, v1.y_holdout, settings=s, journal=mj, who="test").promoted
    # 2. a book serving models:/signal@champion, the challenger in shadow, drift on the champion's errors
    book = TradingSystem(load_settings(overrides={
        "store": {"var_dir": str(tmp_path / "book")}, "market": MARKET, "mlops": s.model_dump(),
        "inference": {"models": {"signal": {"path": f"models:/{s.model_name}@{CHAMPION}"}}},
        "monitoring": {"enabled": True, "champion": "signal", "challenger": "signal-next", "min_samples": 30}},
        env_file=None), clock=SimClock(start_ns=START.value), strategy=SignalStrategy(threshold=0.55, order_qty=100))
    alarms, events, bars = [], [], []
    book.add_desk("drift", DriftDesk(book, DriftSettings(models=["signal"], reference_size=60, cooldown=10_000),
                                     trigger=alarms.append, streams=("errors",)))
    book.bus.subscribe(DriftDetected, events.append)
    book.bus.subscribe(Bar, bars.append)
    client = TestClient(api.create_rest_app(book, TOKEN))
    try:
        assert served(client) == f"{s.model_name}/{v1.version}" == "signal/1"
        run_days(book, 3)                                              # the bull market goes on: quiet
        assert alarms == [] and book.strategies[0].last_prob["AAPL"] > 0.55
        # 3. the regime changes: volatility x2, the trend turns
        book.simulator.shock_volatility("AAPL", 2.0)
        book.simulator.set_drift("AAPL", MU_BEAR)
        shock_ns = book.clock.timestamp_ns()
        for _ in range(4):
            run_days(book, 0.5)
            if alarms:
                break
        assert alarms and events == alarms and alarms[0].stream == "signal:errors"
        assert alarms[0].ts_event > shock_ns
        # 4. retrain in-process on the bars after the alarm: 5 days to train on, 3 held out
        first = (pd.Timestamp(alarms[0].ts_event, unit="ns", tz="UTC").normalize() - START).days + 1
        run_days(book, first + 8 - (book.clock.timestamp_ns() - START.value) / 86_400e9)
        archive.append(bars_frame(bars).xs("AAPL", level="symbol"))
        v2 = train_and_register(pd.concat(archive), day(first), day(first + 4), day(first + 7), s, tmp_path / "v2",
                                tracking=tr, journal=mj, who="test", **TRAIN)
        assert v2.version == "2" and alias_version(tr, s.model_name, CHALLENGER) == "2"
        # 5. the challenger in shadow: both scored on the same bars, the champion still decides
        book.inference.load("signal-next", f"models:/{s.model_name}@{CHALLENGER}")
        run_days(book, 1)
        snap = book.desks["monitoring"].snapshot(0)
        n = {v["version"]: v["n"] for v in snap["versions"]}
        assert n["signal/2"] >= BARS_PER_DAY - 2 and snap["served"] == {"champion": snap["served"]["champion"]}
        assert snap["ab"]["challenger"] == "signal-next@signal/2" and served(client) == "signal/1"
        # 6. the shadow ends; promotion by the DM test on the held-out window
        book.inference.unload("signal-next")
        decision = promote_if_better(tr, v2.X_holdout, v2.y_holdout, settings=s, journal=mj, who="test")
        assert decision.promoted and decision.dm.stat > 0 and decision.dm.p_value < s.alpha, decision.reason
        # 7. the running book serves v2: the watcher swaps it in, no restart
        eventually(lambda: served(client) == "signal/2", timeout=30)
        run_days(book, 0.25)
        assert book.strategies[0].last_prob["AAPL"] < 0.5
        assert any(v["model"] == "signal" and v["version"] == "signal/2" and v["n"] > 0
                   for v in book.desks["monitoring"].snapshot(0)["versions"])
    finally:
        book.close()
    assert [e.type for e in mj.history(s.model_name)] == ["ModelRegistered", "ModelPromoted", "ModelRegistered",
                                                          "ModelPromoted"]
    assert mj.history(s.model_name)[-1].payload["previous"] == "1"
    assert [n for _, n, v in book.desks["model_registry"].reloads] == ["signal"]
