"""benchmarks/ml_models.py runs small and writes its JSON and table."""

from __future__ import annotations

import json
import math

from conftest import load_benchmark


def test_ml_models_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("ml_models")
    out = tmp_path / "ml_models.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["machine"]["cpu_count"] >= 1
    rows = res["multitask"]
    assert {r["batch"] for r in rows} == {1, 10_000}
    assert all(math.isfinite(r["seconds"]) and r["seconds"] > 0 for r in rows)
    assert any(r["impl"].startswith("options.greeks") for r in rows)
    assert any(r["impl"] == "TorchScript" for r in rows)
    assert isinstance(res["generative"], list)
    table = capsys.readouterr().out
    assert "multitask" in table and "bs_greeks" in table
