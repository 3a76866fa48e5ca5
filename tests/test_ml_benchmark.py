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
    gen = {r["name"]: r for r in res["generative"]}
    assert {"gan", "gaussian", "block_bootstrap", "garch_t"} <= set(gen)
    assert all(math.isfinite(r["scenarios_per_s"]) and r["scenarios_per_s"] > 0 for r in gen.values())
    assert gen["gan"]["train_s"] > 0  # the GAN timed is one trained in the run, not an untrained net
    table = capsys.readouterr().out
    assert "multitask" in table and "bs_greeks" in table
