"""CUDA backends of the inference server against the CPU ONNX Runtime session (mark `gpu`)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ultimate_nb.ml.inference import InferenceServer, load_backend  # noqa: E402
from ultimate_nb.ml.multitask import bs_data, fit  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    tr = bs_data(256, np.random.default_rng(0))
    p = fit(tr["X"], tr["labels"], epochs=20, lr=1e-2, seed=0)
    path = tmp_path_factory.mktemp("gpu") / "pricer.onnx"
    p.to_onnx(path)
    return path


def _ref(onnx_file, X):
    return load_backend(onnx_file).run(X)


def test_tensorrt_engine_matches_cpu_session(onnx_file):
    pytest.importorskip("tensorrt")
    X = bs_data(200, np.random.default_rng(1))["X"].astype(np.float32)   # > max_batch: split
    be = load_backend(onnx_file, "tensorrt", device="cuda", max_batch=64)
    ref = _ref(onnx_file, X)
    # TF32 and other kernel choices on the GPU: compare at 1e-3 of each output's scale
    np.testing.assert_allclose(be.run(X), ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())


def test_server_serves_tensorrt_and_torch_cuda(onnx_file, tmp_path):
    pytest.importorskip("tensorrt")
    srv = InferenceServer()
    srv.load("trt", onnx_file, backend="tensorrt", device="cuda")
    X = bs_data(8, np.random.default_rng(2))["X"]
    ref = _ref(onnx_file, X.astype(np.float32))
    p = srv.infer("trt", X)
    assert (p.backend, p.fallback) == ("tensorrt", False)
    np.testing.assert_allclose(p.outputs, ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())


def test_torchscript_on_cuda_matches_cpu(onnx_file, tmp_path):
    tr = bs_data(256, np.random.default_rng(0))
    p = fit(tr["X"], tr["labels"], epochs=20, lr=1e-2, seed=0)
    p.to_torchscript(tmp_path / "p.ts")
    X = bs_data(64, np.random.default_rng(3))["X"].astype(np.float32)
    cpu = load_backend(tmp_path / "p.ts").run(X)
    gpu = load_backend(tmp_path / "p.ts", device="cuda").run(X)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-3 * np.abs(cpu).max())
