"""The inference benchmark's `--isolated` mode runs small: pinned to one core, p99 blocks with the load beside them."""

from __future__ import annotations

import json
import math
import os

import pytest

from conftest import load_benchmark


needs_affinity = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity (Linux)")


@needs_affinity
def test_stable_p99_repeats_blocks_until_the_last_ones_agree(tmp_path):
    pytest.importorskip("onnxruntime")
    import numpy as np
    from ultimate_nb.ml.multitask import MultiTaskPricer, bs_data
    bench = load_benchmark("inference")
    onnx = MultiTaskPricer(3).to_onnx(tmp_path / "pricer.onnx")          # an untrained net times the same
    X = bs_data(64, np.random.default_rng(0))["X"]
    cfg = dict(warm=20, block_reps=100, max_blocks=4, window=2, stable_rel=10.0)   # any two blocks agree
    res = bench.stable_p99(cfg, onnx, X)
    assert len(res["blocks"]) == 2 and res["stable"]
    assert res["p99_server_us"] == np.median([b["server_p99_us"] for b in res["blocks"]])
    never = bench.stable_p99(dict(cfg, stable_rel=-1.0), onnx, X)         # no spread is <= -100%
    assert len(never["blocks"]) == 4 and not never["stable"]
    assert all(b["procs_running"][0] >= 1 and b["direct_p99_us"] > 0 for b in never["blocks"])
    assert all(b["preemptions"] is None or b["preemptions"] >= 0 for b in never["blocks"])


@pytest.mark.slow
@needs_affinity
def test_inference_benchmark_isolated_quick_pins_one_core_and_reports_load(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    allowed = os.sched_getaffinity(0)
    bench = load_benchmark("inference")
    out = tmp_path / "inference.json"
    assert bench.main(["--quick", "--isolated", "--out", str(out)]) == 0
    assert os.sched_getaffinity(0) == allowed                    # the pin is undone afterwards
    res = json.loads(out.read_text())
    iso = res["isolated"]
    assert iso["core"] == max(allowed) and iso["affinity"] == [iso["core"]]
    assert iso["window"] <= len(iso["blocks"]) <= 3
    for b in iso["blocks"]:
        assert math.isfinite(b["server_p99_us"]) and b["server_p99_us"] >= b["server_p50_us"] > 0
        assert b["loadavg_1m"] >= 0 and all(n >= 1 for n in b["procs_running"])   # this process runs
    assert iso["p99_server_us"] > 0 and isinstance(iso["stable"], bool)
    for part in ("latency", "throughput"):
        load = res["load"][part]
        assert load["samples"] >= 2 and load["procs_running"]["min"] >= 1
    table = capsys.readouterr().out
    assert f"isolated: pinned to core {iso['core']}" in table and "runnable" in table and "p99" in table


def test_inference_benchmark_refuses_a_core_it_may_not_use():
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("needs os.sched_setaffinity (Linux)")
    bench = load_benchmark("inference")
    with pytest.raises(ValueError, match="core must be one of"):
        bench.run(quick=True, isolated=True, core=10_000)
