"""benchmarks/data_book.py runs small, writes its JSON and prints its table."""

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_data_book_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("data_book")
    out = tmp_path / "data_book.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True
    assert res["speed"]["book_events_per_s"] > 1_000 and res["speed"]["bus_events_per_s"] > 100
    for name, r in res["models"].items():
        s = r["session"]
        assert 1.0 <= s["spread_mean_ticks"] < 10.0, name          # spreads are whole ticks >= 1
        assert abs(sum(s["spread_share"].values()) - 1.0) < 1e-9
        rv = s["signature_rv_per_s"]
        assert rv[0] > rv[-1] > 0, name                             # the mid mean-reverts at short lags
        v = s["volume_by_tenth"]
        assert min(v[0], v[-1]) > max(v[4], v[5]), name             # U-shaped volume
        assert len(r["impact"]["impact_usd"]) == 2 and math.isfinite(r["impact"]["impact_usd"][0])
    table = capsys.readouterr().out
    assert "book events/s" in table and "delta =" in table
