"benchmarks/cdc.py runs small (`--quick`, SQLite), writes its JSON and prints its table."
from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_cdc_benchmark_quick(tmp_path, capsys):
    out = tmp_path / "cdc.json"
    assert load_benchmark("cdc").main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    r = res["sources"]["sqlite"]
    assert r["applied"] == r["n"] == r["drain_events"]          # every change arrived, once
    for k in ("events_per_s", "lag_p99_ms", "drain_per_s"):
        assert math.isfinite(r[k]) and r[k] > 0, k
    assert r["lag_p99_ms"] >= r["lag_p50_ms"]
    assert "events/s e2e" in capsys.readouterr().out
