"""benchmarks/analytics_microstructure.py runs small, writes its JSON and table, and stream equals batch."""

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_microstructure_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("analytics_microstructure")
    out = tmp_path / "analytics_microstructure.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["features"] == 13 and res["trades"] > 50
    assert res["max_parity_error"] <= 1e-12                  # streaming equals batch
    for key in ("p50_us", "p99_us", "mean_us"):
        assert math.isfinite(res["stream"][key]) and res["stream"][key] > 0, key
    assert res["batch"]["per_event_us"] > 0 and res["pandas"]["per_event_us"] > 0
    agree = res["pandas"]["agreement"]
    assert agree["ofi"] < 1e-12 and agree["mlofi"] < 1e-12 and agree["roll"] < 1e-9
    assert agree["lr_sign"] > 0.95
    table = capsys.readouterr().out
    assert "stream MicroCalculator" in table and "p99" in table and "pandas" in table
