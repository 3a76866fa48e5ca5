"""`python -m ultimate_nb.live --feed replay:sp500 --speed max` trades 1999-2018 and exits with a summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import free_port


def test_replay_sp500_runs_twenty_years_through_the_loop_and_exits_with_a_summary(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ULTIMATE_")}
    cmd = [sys.executable, "-m", "ultimate_nb.live", "--feed", "replay:sp500", "--speed", "max",
           "--var-dir", str(tmp_path / "var"), "--log-level", "WARNING",
           "--rest-port", str(free_port()), "--ws-port", str(free_port()),
           "--metrics-port", str(free_port())]
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout[r.stdout.index("{"):])
    assert (summary["bars"], summary["first"], summary["last"]) == (5031, "1999-01-04", "2018-12-31")
    assert summary["orders"] > 100 and summary["fills"] == summary["orders"]
    assert summary["equity"] > 0 and summary["dropped_rows"] == 0
    journal = tmp_path / "var" / "replay"
    assert len(list(journal.glob("sp500-*.db"))) == 1          # a journal of its own
    assert not (tmp_path / "var" / "ultimate.db").exists()


def test_replay_of_unknown_data_set_is_refused_naming_the_feed(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ULTIMATE_")}
    r = subprocess.run([sys.executable, "-m", "ultimate_nb.live", "--feed", "replay:nope", "--speed", "max",
                        "--var-dir", str(tmp_path / "var")],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "replay:nope" in r.stderr and "Traceback" not in r.stderr
