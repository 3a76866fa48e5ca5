"""The router benchmark runs small (`--quick`), writes its JSON and prints its table."""

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_router_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("execution_router")
    out = tmp_path / "execution_router.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["machine"]["cpu_count"] >= 1
    for part in ("route", "broker_hook"):
        assert math.isfinite(res[part]["p99_us"]) and 0 < res[part]["p50_us"] <= res[part]["p99_us"]
    c = res["cost"]
    assert c["all_filled"] and c["routed_never_worse"]              # lit routing never loses to one venue
    assert c["routed_usd_per_share"] <= c["primary_usd_per_share"]
    table = capsys.readouterr().out
    assert "route (snapshots, dark on)" in table and "p99" in table and f"wrote {out}" in table
