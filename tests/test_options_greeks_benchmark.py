"""benchmarks/options_greeks.py runs small and writes its JSON and table."""

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_options_greeks_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("options_greeks")
    out = tmp_path / "options_greeks.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["machine"]["cpu_count"] >= 1
    g, iv = res["greeks"], res["implied_vol"]
    assert g["greeks"] == 16 and math.isfinite(g["speedup"]) and g["speedup"] > 0
    assert g["max_diff_of_scale"] < 1e-12  # same formulas as the numpy reference
    assert math.isfinite(iv["throughput_ratio"]) and iv["throughput_ratio"] > 0
    assert iv["ours_max_abs_err_material"] < 1e-10 and iv["ours_nan_material"] == 0
    assert iv["ours_as_good_share_sample"] == 1.0
    table = capsys.readouterr().out
    assert "bs_greeks (numba)" in table and "vollib" in table and "target" in table
