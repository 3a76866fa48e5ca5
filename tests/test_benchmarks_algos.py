"The execution-algos benchmark runs small (`--quick`), writes its JSON and prints its table."
from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_execution_algos_benchmark_quick(tmp_path, capsys):
    bench = load_benchmark("execution_algos")
    out = tmp_path / "algos.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert "p99 us" in capsys.readouterr().out and res["machine"]["cpu_count"] >= 1
    assert set(res["algos"]) == {"twap", "vwap", "pov", "is", "close"}
    for algo, r in res["algos"].items():
        assert r["events"] > 500 and r["decisions"] > 10, algo
        assert math.isfinite(r["p99_us"]) and 0 < r["p50_us"] <= r["p99_us"], algo
        assert r["filled"] == 20_000, algo         # every parent completes, never more than its quantity
