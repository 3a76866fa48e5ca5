"""benchmarks/analytics_portfolio.py runs small, writes its JSON and table, and agrees with its
references."""

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_analytics_portfolio_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("analytics_portfolio")
    out = tmp_path / "analytics_portfolio.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["machine"]["cpu_count"] >= 1
    assert len(res["results"]) == 7
    for r in res["results"]:
        assert math.isfinite(r["ours_ms"]) and r["ours_ms"] > 0, r["problem"]
        assert r["max_abs_dw"] < 1e-4, r  # every optimiser lands on its reference's weights
        gap = r["objective_gap"]
        assert math.isnan(gap) or gap < 1e-6, r  # and is never materially worse
    table = capsys.readouterr().out
    assert "max-Sharpe, long-only" in table and "ERC (Newton)" in table and "HRP" in table
