"""The pipelines command end to end: real papermill kernels under the scheduler, the CLI, the journal and metrics."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from ultimate_nb.pipelines.runner import PipelineRunner, Scheduler, main

REPO = Path(__file__).resolve().parents[1]


def tiny_notebook(path: Path) -> Path:
    "A papermill notebook that writes `value * 2` to `out` and fails when `value` is negative."
    params = nbformat.v4.new_code_cell("value = 1\nout = 'result.txt'")
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "from pathlib import Path\n"
        "if value < 0:\n    raise ValueError(f'value must be >= 0, was {value}')\n"
        "Path(out).write_text(str(value * 2))\nvalue * 2"
    )
    nbformat.write(nbformat.v4.new_notebook(cells=[params, body], metadata={
        "kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}}), path)
    return path


@pytest.fixture
def schedules(tmp_path) -> Path:
    tiny_notebook(tmp_path / "tiny.ipynb")
    f = tmp_path / "schedules.yaml"
    f.write_text(
        "schedules:\n"
        f"  - {{name: every-minute, notebook: tiny.ipynb, cron: '* * * * *', parameters: {{value: 21, out: '{tmp_path / 'm.txt'}'}}}}\n"
        f"  - {{name: quarter, notebook: tiny.ipynb, cron: '*/15 * * * *', parameters: {{value: -1, out: '{tmp_path / 'q.txt'}'}}}}\n"
    )
    return f


def test_scheduler_with_fake_clock_runs_due_entries_by_itself_and_records_them(tmp_path, schedules):
    now = [datetime(2024, 3, 4, 9, 58, 30, tzinfo=timezone.utc).timestamp()]
    runner = PipelineRunner(schedules, tmp_path / "runs", clock=lambda: now[0], cwd=tmp_path)
    sched = Scheduler(runner, grace_s=20)

    def fake_sleep(s):
        sched.wait()  # the kernels take real seconds, no fake time
        now[0] += s

    sched.sleep = fake_sleep
    recs = sched.run(until=now[0] + 2 * 60)  # 09:58:30 -> 10:00:30
    runner.close()
    got = sorted((r.name, datetime.fromtimestamp(r.scheduled, timezone.utc).strftime("%H:%M"), r.status)
                 for r in recs)
    assert got == [("every-minute", "09:59", "success"), ("every-minute", "10:00", "success"),
                   ("quarter", "10:00", "failed")]
    assert (tmp_path / "m.txt").read_text() == "42"
    failed = next(r for r in recs if r.status == "failed")
    assert "value must be >= 0" in failed.error
    for r in recs:  # executed notebook and its HTML report, side by side
        assert Path(r.output).is_file() and Path(r.html) == Path(r.output).with_suffix(".html")
        assert r.duration_s > 0
    prom = (tmp_path / "runs" / "metrics.prom").read_text()
    assert 'ultimate_pipeline_runs_total{name="every-minute",status="success"} 2.0' in prom
    assert 'ultimate_pipeline_runs_total{name="quarter",status="failed"} 1.0' in prom
    assert 'ultimate_pipeline_last_run_failed{name="quarter"} 1.0' in prom
    # at start 09:58 was 30 s old and 09:45 older, both over the 20 s grace
    assert 'ultimate_pipeline_skipped_total{name="every-minute",reason="missed"} 1.0' in prom
    assert 'ultimate_pipeline_skipped_total{name="quarter",reason="missed"} 1.0' in prom
    # the journal has every run, with parameters and status, readable by a fresh runner
    again = PipelineRunner(schedules, tmp_path / "runs", cwd=tmp_path, metrics_file=False)
    runs = [r for r in again.records() if r["type"] == "run"]
    again.close()
    assert len(runs) == 3 and {r["parameters"]["value"] for r in runs} == {21, -1}


def test_scheduler_skips_a_fire_while_the_previous_run_is_going(tmp_path, schedules):
    now = [datetime(2024, 3, 4, 10, 0, 30, tzinfo=timezone.utc).timestamp()]
    release = threading.Event()
    calls = []

    def slow(notebook, output, parameters, cwd):
        calls.append(parameters)
        release.wait(10)
        output.write_text("{}")

    runner = PipelineRunner(schedules, tmp_path / "runs", clock=lambda: now[0], execute=slow, html=False)

    def sleep(s):
        now[0] += s
        if now[0] >= start + 170:
            release.set()

    start = now[0]
    recs = Scheduler(runner, grace_s=0, sleep=sleep).run(until=start + 180)
    assert [r.name for r in recs] == ["every-minute"]  # 10:01 ran; 10:02 and 10:03 overlapped
    assert runner.metrics.value("ultimate_pipeline_skipped_total", name="every-minute", reason="overlap") == 2.0
    runner.close()


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ultimate_nb.pipelines", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_cli_schedule_once_runs_the_one_minute_cron_fire_and_exits(tmp_path, schedules):
    p = cli("schedule", "--once", "--grace", "120", "--schedules", str(schedules),
            "--out-root", str(tmp_path / "runs"), cwd=tmp_path)
    # the every-minute fire is < 60 s old: caught up; the quarter-hourly one may be too, and fails
    assert p.returncode in (0, 1), p.stderr[-2000:]
    assert (tmp_path / "m.txt").read_text() == "42"
    prom = (tmp_path / "runs" / "metrics.prom").read_text()
    assert 'ultimate_pipeline_runs_total{name="every-minute",status="success"} 1.0' in prom
    assert "ultimate_pipeline_last_success_timestamp_seconds{name=\"every-minute\"}" in prom
    # a second pass finds the fire journaled and runs nothing again (unless the minute turned)
    p2 = cli("schedule", "--once", "--grace", "0", "--schedules", str(schedules),
             "--out-root", str(tmp_path / "runs"), cwd=tmp_path)
    assert p2.returncode == 0 and len(list((tmp_path / "runs" / "every-minute").glob("*.ipynb"))) == 1


def test_cli_run_prints_the_executed_notebook_and_lists(tmp_path, schedules):
    p = cli("run", "every-minute", "-p", "value=5", "--schedules", str(schedules),
            "--out-root", str(tmp_path / "runs"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    out = Path(p.stdout.strip())
    assert out.is_file() and out.with_suffix(".html").is_file()
    assert (tmp_path / "m.txt").read_text() == "10"


def test_cli_list_and_bad_until(tmp_path, schedules, capsys):
    assert main(["list", "--schedules", str(schedules)]) == 0
    assert "*/15 * * * *" in capsys.readouterr().out
    assert main(["schedule", "--until", "soon", "--schedules", str(schedules), "--out-root", str(tmp_path)]) == 2
    assert "until must be" in capsys.readouterr().err


def test_a_notebook_can_report_waiting_or_idle_and_the_run_is_not_failed(tmp_path):
    "A cell tagged `pipeline-status` printing {'status': 'waiting'} makes the run 'waiting', not failed."
    import json as _json

    from ultimate_nb.pipelines.runner import CLEAN, reported_status

    def nb(text, tags=("pipeline-status",)):
        p = tmp_path / f"nb{len(list(tmp_path.iterdir()))}.ipynb"
        p.write_text(_json.dumps({"cells": [{"cell_type": "code", "metadata": {"tags": list(tags)}, "source": "",
                                             "outputs": [{"output_type": "stream", "name": "stdout",
                                                          "text": [text]}]}]}))
        return p

    assert reported_status(nb('{"status": "waiting", "why": "held-out window not over"}')) == "waiting"
    assert reported_status(nb('{"status": "idle"}')) == "idle"
    assert reported_status(nb('{"status": "promoted"}')) is None          # anything else: a plain success
    assert reported_status(nb('{"status": "waiting"}', tags=())) is None   # only the tagged cell counts
    assert reported_status(nb("not json")) is None
    assert reported_status(tmp_path / "missing.ipynb") is None
    assert {"success", "waiting", "idle"} == set(CLEAN)
