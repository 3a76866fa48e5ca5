"""benchmarks/options_american.py runs small and writes its JSON and table."""

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_options_american_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("options_american")
    out = tmp_path / "options_american.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["machine"]["cpu_count"] >= 1
    rows = res["tree"]["rows"]
    assert math.isfinite(res["tree"]["speedup"]) and res["tree"]["speedup"] > 0
    assert rows["crr"]["max_abs_err"] < 0.05 and rows["quantlib crr"]["max_abs_err"] < 0.05
    assert rows["crr smooth"]["max_abs_err"] < rows["crr"]["max_abs_err"]
    lsm = res["lsm"]["rows"]
    assert abs(lsm["ours"]["price"] - lsm["quantlib"]["price"]) < 0.1  # 4,000 paths each
    assert math.isfinite(res["lsm"]["ratio_vs_quantlib"]) and res["lsm"]["ratio_vs_quantlib"] > 0
    table = capsys.readouterr().out
    assert "quantlib crr" in table and "LSM" in table and "target" in table
