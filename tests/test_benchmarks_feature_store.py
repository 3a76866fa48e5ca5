"benchmarks/feature_store.py runs small (`--quick`), writes its JSON and prints its table."

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_feature_store_benchmark_quick(tmp_path, capsys):
    out = tmp_path / "feature_store.json"
    assert load_benchmark("feature_store").main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["machine"]["duckdb"] and math.isfinite(res["wall_s"])
    o, p = res["online"], res["pit"]
    assert o["features"] == 150 and 0 < o["online_vector"]["p50_us"] <= o["online_vector"]["p99_us"]
    assert o["get_online"]["p50_us"] < 1000           # the median read is far below the 1 ms goal, even loaded
    assert p["same_nan"] and p["max_abs_diff"] == 0.0  # ours equals pandas.merge_asof
    assert 0.1 < p["filled_share"] < 1 and p["ours_rows_per_s"] > 0 and p["pandas_rows_per_s"] > 0
    table = capsys.readouterr().out
    assert "DuckDB ASOF" in table and "merge_asof" in table and f"wrote {out}" in table
