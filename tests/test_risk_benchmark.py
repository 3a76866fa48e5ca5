"""benchmarks/risk_var.py runs small, writes its JSON and table, and the Dask run matches."""

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_risk_var_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("risk_var")
    out = tmp_path / "risk_var.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["machine"]["cpu_count"] >= 1
    for section, key in (
        ("mc", "scenarios_per_s"),
        ("mc", "peak_traced_mb"),
        ("options", "revaluations_per_s"),
        ("dask", "scenarios_per_s"),
    ):
        assert math.isfinite(res[section][key]) and res[section][key] > 0, (section, key)
    assert res["dask"]["same_answer"] is True  # same seed, same chunks: the same VaR and ES
    assert abs(res["mc"]["var_rel_error"]) < 0.05  # 20,000 scenarios vs the closed form
    assert abs(res["options"]["delta_gamma_var_rel_error"]) < 0.05
    table = capsys.readouterr().out
    assert "MC VaR/ES" in table and "full reval" in table and "MC through Dask" in table
