"""benchmarks/gpu.py runs small without CUDA (GPU columns n/a), and its GPU side runs the torch paths.

The second test stands the CPU in for CUDA: the modules' `get_device` maps "cuda" to torch's
"cpu:0", so every `device=` call takes its torch branch on the CPU and the benchmark's GPU column
is filled by the same code that will run on a GPU; the differences from the numba results then
show the torch paths compute the same numbers (the real GPU run is `benchmarks/gpu_device.sh`).
"""

from __future__ import annotations

import json
import math

import pytest

from conftest import load_benchmark
from ultimate_nb.core.device import has_cuda

pytest.importorskip("torch")

GPU_ROWS = "greeks,iv,crr,lsm,mc_var,reval,nn_b1,nn_b1k,nn_b100k,nn_train,gan"


def test_gpu_benchmark_quick_runs_without_cuda_and_writes_its_table(tmp_path, capsys, monkeypatch):
    bench = load_benchmark("gpu")
    monkeypatch.setattr(bench, "gpu_device", lambda: None)
    out = tmp_path / "gpu.json"
    assert bench.main(["--quick", "--rows", "greeks,iv,crr,mc_var,reval,nn_b1", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert [r["row"] for r in res["rows"]] == ["greeks", "iv", "crr", "mc_var", "reval", "nn_b1"]
    for r in res["rows"]:
        assert r["cpu_s"] > 0 and r["gpu_s"] is None and r["ratio"] is None and r["roofline_s"] > 0
    assert res["card"] == "H100" and res["peaks"]["hbm"] == 3.35e12
    table = capsys.readouterr().out
    assert "GPU columns n/a" in table and "16 Greeks to 3rd order, 5,000 options" in table
    with pytest.raises(ValueError, match="rows must be among"):
        bench.run(quick=True, rows="greeks,nope")


def test_gpu_benchmark_budget_skips_the_rows_left(monkeypatch):
    bench = load_benchmark("gpu")
    monkeypatch.setattr(bench, "gpu_device", lambda: None)
    res = bench.run(quick=True, rows="mc_var,reval", budget_s=0.0)
    assert [r.get("skipped", "").startswith("budget") for r in res["rows"]] == [True, True]
    assert "skipped" in bench.table(res)


@pytest.fixture
def cpu_as_cuda(monkeypatch):
    "Map the device 'cuda' to torch's 'cpu:0' in the modules, so their torch branches run here."
    import ultimate_nb.core.device as device
    import ultimate_nb.ml.generative as generative
    import ultimate_nb.ml.multitask as multitask
    import ultimate_nb.options.american as american
    import ultimate_nb.options.greeks as greeks
    real = device.get_device

    def get_device(prefer: str = "auto") -> str:
        p = str(prefer)
        return "cpu:0" if p.startswith("cuda") or p == "cpu:0" else real(prefer)
    for mod in (device, greeks, american, multitask, generative):
        monkeypatch.setattr(mod, "get_device", get_device)
    return "cpu:0"


def test_gpu_benchmark_gpu_side_on_the_torch_paths(cpu_as_cuda, monkeypatch):
    bench = load_benchmark("gpu")
    monkeypatch.setattr(bench, "gpu_device", lambda: cpu_as_cuda)
    res = bench.run(quick=True, rows=GPU_ROWS)
    rows = {r["row"]: r for r in res["rows"]}
    assert set(rows) == set(GPU_ROWS.split(",")) and "stand-in" in res["gpu"]["name"]
    for r in rows.values():
        assert r["gpu_s"] > 0 and math.isfinite(r["ratio"]) and r["over_roofline"] > 0, r["row"]
    # torch float64 on the CPU against numba: the same formulas, last-bit differences
    for k in ("greeks", "crr", "lsm", "reval"):
        assert rows[k]["max_diff"] < 1e-9, (k, rows[k]["max_diff"])
    assert rows["iv"]["max_diff"] < 1e-9
    assert rows["reval"]["var_rel_diff"] < 1e-9
    assert rows["mc_var"]["max_diff"] < 0.2          # other random numbers, 5,000 scenarios
    for k in ("nn_b1", "nn_b1k", "nn_b100k", "gan"):  # the same float32 module on the same CPU
        assert rows[k]["max_diff"] < 1e-5, (k, rows[k]["max_diff"])
    assert rows["nn_train"]["max_diff"] < 1e-3       # no autocast off CUDA: the same training


@pytest.mark.gpu
@pytest.mark.skipif(not has_cuda(), reason="needs a CUDA device")
def test_gpu_benchmark_quick_on_cuda(tmp_path):
    bench = load_benchmark("gpu")
    out = tmp_path / "gpu.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    rows = {r["row"]: r for r in res["rows"]}
    assert set(rows) == set(GPU_ROWS.split(",")) and res["gpu"]["name"]
    for r in rows.values():
        assert r["gpu_s"] > 0 and r["roofline_s"] > 0 and math.isfinite(r["max_diff"]), r["row"]
    for k in ("greeks", "crr", "lsm", "reval"):      # float64 torch on CUDA against numba
        assert rows[k]["max_diff"] < 1e-9, (k, rows[k]["max_diff"])
    assert rows["iv"]["max_diff"] < 1e-9
    for k in ("nn_b1", "nn_b1k", "nn_b100k"):        # float32, TF32 off for matmuls
        assert rows[k]["max_diff"] < 1e-4, (k, rows[k]["max_diff"])
    assert rows["gan"]["max_diff"] < 1e-2            # cuDNN may use TF32 in the convolutions
    assert rows["nn_b1"]["gpu_cuda_graph_s"] > 0
