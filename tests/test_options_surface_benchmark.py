"""benchmarks/options_surface.py runs small and writes its JSON and table."""

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_options_surface_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("options_surface")
    out = tmp_path / "options_surface.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["machine"]["cpu_count"] >= 1
    rows = res["bench"]["rows"]
    assert {"svi fit (cold)", "svi update (warm)", "sabr fit (cold)", "ssvi fit",
            "surface from_quotes (svi)"} <= set(rows)
    assert all(math.isfinite(r["ms"]) and r["ms"] > 0 for r in rows.values())
    assert res["bench"]["svi_update"]["max_rmse"] < 5e-4    # warm updates still fit the smile
    table = capsys.readouterr().out
    assert "svi update" in table and "target" in table
