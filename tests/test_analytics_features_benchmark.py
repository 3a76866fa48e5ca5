"""benchmarks/analytics_features.py runs small, writes its JSON and table, and batch equals stream."""

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_analytics_features_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("analytics_features")
    out = tmp_path / "analytics_features.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["batch"]["features"] >= 100
    assert res["batch"]["max_parity_error"] < 1e-9          # batch and streaming agree
    for key in ("ours_p50_us", "ours_p99_us", "reference_p99_us"):
        assert math.isfinite(res["stream"][key]) and res["stream"][key] > 0, key
    assert res["rolling"]["max_rel_diff_vs_pandas"] < 1e-6
    table = capsys.readouterr().out
    assert "stream update_array" in table and "batch " in table and "p99" in table
