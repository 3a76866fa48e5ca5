"""Retraining on the book's own bars after a regime change, under papermill, with the wait-for-data rule.

A book with `feature_store.enabled` writes its half-hour bars to the offline store as it runs. The
simulator's regime changes (volatility x2, the trend turns bearish) at the "alarm". The
`train-challenger` pipeline (pipelines/schedules.yaml), run with `alarm` and `source=feature_store:...`
like `TradingSystem._retrain` would, trains on the bars of the day after the alarm and holds out the
next day. Before that day is over it trains nothing, ends cleanly as `waiting` and keeps the job in
`pending.json`; the `train-challenger-retry` entry (`alarm: pending`) takes it up once the bars exist,
trains a challenger on the book's own post-alarm bars, registers it and (no champion yet) promotes it."""

from __future__ import annotations

import json
import math

import pandas as pd

from mlops_support import mlflow_template, mlops_settings  # noqa: F401  (fixtures)
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.data.simulator import TRADING_SECONDS_PER_YEAR
from ultimate_nb.live.system import RETRAIN_PIPELINE, TradingSystem
from ultimate_nb.ml.mlops import CHAMPION, ModelJournal, alias_version, load_bars, load_pending, start_tracking
from ultimate_nb.pipelines.runner import SCHEDULES, PipelineRunner

START = pd.Timestamp("2026-03-02", tz="UTC")            # a Monday
BAR_S, TICK_MS, VOL = 1800, 900_000, 0.08               # half-hour bars of two ticks
BARS_PER_DAY, TICKS_PER_BAR = 86_400 // BAR_S, BAR_S * 1000 // TICK_MS
DT = BAR_S / TRADING_SECONDS_PER_YEAR
EDGE = 0.524                                            # Phi(0.524) = 0.7
MU_BULL = EDGE * VOL * math.sqrt(DT) / DT + VOL**2 / 2
MU_BEAR = -EDGE * 2 * VOL * math.sqrt(DT) / DT + (2 * VOL) ** 2 / 2
MARKET = dict(symbols=["AAPL"], initial_prices=[190.0], vols=[VOL], vol_of_vol=0.0, bar_seconds=BAR_S,
              tick_ms=TICK_MS, trade_rate=0.01, drift=MU_BULL, seed=7)
FEATURES = ["ret_1", "ret_5", "rvol_21", "zclose_21", "rsi_14", "dow_sin", "dow_cos"]   # short warm-up


def run_days(book: TradingSystem, days: float) -> None:
    book.run_simulated(int(round(days * BARS_PER_DAY)) * TICKS_PER_BAR)


def test_pipeline_waits_for_the_held_out_bars_then_trains_on_the_books_own_bars(tmp_path, mlops_settings):
    s, fs_path, out = mlops_settings, tmp_path / "features", tmp_path / "out"
    book = TradingSystem(load_settings(overrides={
        "store": {"var_dir": str(tmp_path / "book")}, "market": MARKET, "strategy": {"enabled": False},
        "feature_store": {"enabled": True, "path": str(fs_path), "features": ["ret_1"], "flush_rows": 48}},
        env_file=None), clock=SimClock(start_ns=START.value))
    desk = book.desks["features"]
    runner = PipelineRunner(SCHEDULES, tmp_path / "runs", cwd=tmp_path, html=False, metrics_file=False)
    params = dict(epochs=30, hidden=4, train_span="1D", holdout_span="1D", min_train=40, min_holdout=30,
                  features=FEATURES, tracking_uri=s.tracking_uri, artifact_dir=s.artifact_dir,
                  journal_url=s.journal_url, who="retrain-test", out_dir=str(out))
    try:
        run_days(book, 1)                                        # the bull market
        book.simulator.shock_volatility("AAPL", 2.0)             # the regime changes: the drift alarm's moment
        book.simulator.set_drift("AAPL", MU_BEAR)
        alarm = pd.Timestamp(book.clock.timestamp_ns(), unit="ns", tz="UTC")
        run_days(book, 1.5)                                      # half of the held-out day so far
        desk.flush()
        # 1. the alarm's run: the held-out window is not over -> waiting, nothing trained, the job kept
        rec = runner.run(RETRAIN_PIPELINE, dict(params, alarm=alarm.isoformat(), source=f"feature_store:{fs_path}"))
        assert rec.status == "waiting", rec.error                # a clean exit the runner records as waiting
        st = json.loads((out / "status.json").read_text())
        assert st["status"] == "waiting" and "is not over" in st["why"] and st["version"] is None, st
        assert load_pending(out)["job"]["alarm"] == alarm.isoformat()
        tr, mj = start_tracking(s), ModelJournal.from_settings(s)
        assert tr.client.search_model_versions(f"name='{s.model_name}'") == []
        assert [e.type for e in mj.history(s.model_name)] == ["TrainingWaiting"]
        # 2. the held-out day ends; the retry schedule takes the pending job up
        run_days(book, 0.75)
        desk.flush()
        rec = runner.run("train-challenger-retry", params)
        assert rec.status == "success", rec.error
    finally:
        book.close()
    st = json.loads((out / "status.json").read_text())
    assert st["status"] == "trained" and st["version"] == "1" and st["promoted"], st
    assert load_pending(out) is None
    assert alias_version(tr, s.model_name, CHAMPION) == "1"      # no champion yet: promoted outright
    d = json.loads((out / "decision.json").read_text())
    run = tr.client.get_run(d["run_id"]).data
    assert run.params["source"] == f"feature_store:{fs_path}" and run.params["features"] == ",".join(FEATURES)
    assert pd.Timestamp(run.params["train_start"]) == alarm
    assert pd.Timestamp(run.params["holdout_end"]) == alarm + pd.Timedelta("2D")
    assert BARS_PER_DAY - 2 <= run.metrics["train_rows"] <= BARS_PER_DAY
    assert 30 <= run.metrics["holdout_rows"] <= BARS_PER_DAY
    assert [e.type for e in mj.history(s.model_name)] == ["TrainingWaiting", "ModelRegistered", "ModelPromoted"]
    # the bars it learned from are the book's own, of the new regime
    bars = load_bars(f"feature_store:{fs_path}")
    up = (bars["close"].shift(-1) > bars["close"])[:-1]
    assert up[up.index >= alarm].mean() < 0.45 < 0.55 < up[up.index < alarm].mean()
