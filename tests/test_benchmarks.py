"""benchmarks/live_loop.py runs small and writes a full result (`make test` skips the full run)."""

from __future__ import annotations

import json
import math
import time

from conftest import load_benchmark


def test_live_loop_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("live_loop")
    out = tmp_path / "live_loop.json"
    t0 = time.perf_counter()
    assert bench.main(["--quick", "--out", str(out)]) == 0
    assert time.perf_counter() - t0 < 10
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["machine"]["cpu_count"] >= 1
    for section, key in (
        ("bus", "ratio"),
        ("journal", "ratio"),
        ("orders", "ratio_p50"),
        ("run_simulated", "events_per_s"),
    ):
        assert math.isfinite(res[section][key]) and res[section][key] > 0, (section, key)
    o = res["orders"]
    assert o["oms_stats"]["orders"] == o["orders"]  # every benchmark order reached the OMS
    assert o["oms_stats"].get("filled", 0) == o["orders"]  # and filled: nothing was denied by risk
    assert o["journal_entries_per_order"] >= 4  # order, submitted, accepted, filled
    table = capsys.readouterr().out
    assert "bus publish" in table and "submit market order p99" in table
