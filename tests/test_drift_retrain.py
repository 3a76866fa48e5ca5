"""A book with `drift.enabled` adds the drift desk from its settings, and an alarm starts the
`train-challenger` pipeline (listed in pipelines/schedules.yaml) in a child process, one run at a time."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.live import system as system_mod
from ultimate_nb.live.system import RETRAIN_PIPELINE, TradingSystem
from ultimate_nb.ml.drift import DriftDesk

REPO = Path(__file__).resolve().parents[1]


class FakeProc:
    "Stands in for the child process: records its command; `poll()` is None while 'running'."
    started: list = []

    def __init__(self, argv, **kw):
        self.argv, self.pid, self.running = argv, 4242 + len(FakeProc.started), True
        FakeProc.started.append(self)

    def poll(self):
        return None if self.running else 0


def test_drift_alarm_starts_one_retraining_run_at_a_time(tmp_path, monkeypatch):
    names = {e["name"] for e in yaml.safe_load((REPO / "pipelines" / "schedules.yaml").read_text())["schedules"]}
    assert RETRAIN_PIPELINE in names
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False},
                                 "drift": {"enabled": True}}, env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=1_767_275_400_000_000_000))
    desk = book.desks["drift"]
    assert isinstance(desk, DriftDesk) and desk.trigger == book._retrain
    monkeypatch.setattr(system_mod.subprocess, "Popen", FakeProc)
    FakeProc.started = []
    assert book._retrain("alarm-1") == 4242
    assert FakeProc.started[0].argv == [sys.executable, "-m", "ultimate_nb.pipelines", "run", RETRAIN_PIPELINE]
    assert book._retrain("alarm-2") is None            # the first run still works: no second one
    FakeProc.started[0].running = False
    assert book._retrain("alarm-3") == 4243            # finished: the next alarm retrains again
    assert (tmp_path / "pipelines" / "retrain.log").exists()
    FakeProc.started[-1].running = False
    alarm = type("Alarm", (), {"ts_event": 1_767_300_000_000_000_000})()
    book.settings.feature_store.enabled = True               # the book's own bars, from the feature store
    book._retrain(alarm)
    argv = FakeProc.started[-1].argv
    assert argv[argv.index("-p") + 1] == "alarm=1767300000000000000"
    assert f"source=feature_store:{(tmp_path / 'features').resolve()}" in argv and "view=bar_features" in argv
    book.close()
