"""benchmarks/inference.py runs small and writes its JSON and table."""

from __future__ import annotations

import json
import math

import pytest
from conftest import load_benchmark

pytest.importorskip("onnxruntime")


def test_inference_benchmark_quick_writes_json_and_table(tmp_path, capsys):
    bench = load_benchmark("inference")
    out = tmp_path / "inference.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["onnx_check"]["worst_over_tol"] <= 1.0
    impls = {r["impl"] for r in res["latency"]}
    assert {"ONNX Runtime session.run (direct)", "server.predict, onnxruntime",
            "server.predict_async, onnxruntime, 1 client"} <= impls
    assert all(math.isfinite(r["p99_us"]) and r["p99_us"] >= r["p50_us"] > 0 for r in res["latency"])
    on, off = res["throughput"]
    assert on["mean_batch"] > 1.0 and off["mean_batch"] == 1.0   # batching coalesced, the other did not
    assert "goals" in res and "4 async clients" in capsys.readouterr().out
