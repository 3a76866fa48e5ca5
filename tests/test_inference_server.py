"""The inference server end to end: a pricing network served over REST behind the book's token,
hot reload of a model file while a client keeps calling, threads and the event loop together."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from ultimate_nb.core.metrics import Metrics  # noqa: E402
from ultimate_nb.live.api import require_token  # noqa: E402
from ultimate_nb.ml.inference import (  # noqa: E402
    InferenceServer, InferenceSettings, add_predict_routes, bs_greeks_fallback, load_backend,
)
from ultimate_nb.ml.multitask import bs_data, fit  # noqa: E402

TOKEN = "test-token-0123456789abcdef0123456789"


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    "A small pricing network saved as pricer file, ONNX and TorchScript, and a second version."
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("models")
    tr = bs_data(256, np.random.default_rng(0))
    p1 = fit(tr["X"], tr["labels"], epochs=20, lr=1e-2, seed=0)
    p2 = fit(tr["X"], tr["labels"], epochs=20, lr=1e-2, seed=1)
    p1.save(d / "v1.pt"); p1.to_onnx(d / "v1.onnx"); p1.to_torchscript(d / "v1.ts")
    p2.to_onnx(d / "v2.onnx")
    return d


def make_app(server: InferenceServer) -> FastAPI:
    app = FastAPI()
    add_predict_routes(app, server, [Depends(require_token(TOKEN))])
    return app


def test_predict_route_serves_onnx_model_behind_token(model_files):
    server = InferenceServer(registry=Metrics().registry)
    server.load("pricer", model_files / "v1.onnx", fallback="bs_greeks")
    X = bs_data(3, np.random.default_rng(1))["X"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(make_app(server)) as client:
        denied = client.post("/api/v1/predict/pricer", json={"inputs": X.tolist()})
        ok = client.post("/api/v1/predict/pricer", json={"inputs": X.tolist(), "priority": "hedging"},
                         headers=auth)
        missing = client.post("/api/v1/predict/nope", json={"inputs": X.tolist()}, headers=auth)
        shape = client.post("/api/v1/predict/pricer", json={"inputs": [[1.0, 0.5]]}, headers=auth)
        nan = client.post("/api/v1/predict/pricer", content='{"inputs": [[1.0, NaN, 0.2]]}',
                          headers=auth | {"content-type": "application/json"})
        models = client.get("/api/v1/models", headers=auth)
    assert denied.status_code == 401
    assert ok.status_code == 200
    body = ok.json()
    assert (body["model"], body["fallback"]) == ("pricer", False)
    np.testing.assert_allclose(body["outputs"], server.predict("pricer", X), rtol=1e-12)
    assert (missing.status_code, shape.status_code, nan.status_code) == (404, 422, 422)
    assert models.json()["models"]["pricer"]["version"] == body["version"]


def test_pricer_file_torchscript_and_onnx_agree(model_files):
    X = bs_data(64, np.random.default_rng(2))["X"].astype(np.float32)
    outs = [load_backend(model_files / f, b).run(X) for f, b in
            [("v1.onnx", "auto"), ("v1.ts", "auto"), ("v1.pt", "torch"), ("v1.pt", "onnxruntime")]]
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-5, atol=1e-5 * np.abs(outs[0]).max())


def test_hot_reload_while_a_thread_keeps_calling_never_fails(model_files):
    server = InferenceServer(InferenceSettings(cache_size=0))
    server.load("pricer", model_files / "v1.onnx")
    v1 = server.model("pricer").version
    X = bs_data(32, np.random.default_rng(3))["X"]
    errors, versions, stop = [], set(), threading.Event()

    def caller():
        while not stop.is_set():
            try:
                versions.add(server.infer("pricer", X[:4]).version)
            except Exception as e:  # any failure during a swap is the bug this test looks for
                errors.append(e)

    t = threading.Thread(target=caller)
    t.start()
    for f in ("v2.onnx", "v1.onnx", "v2.onnx"):
        server.reload("pricer", model_files / f)
    stop.set(); t.join(10)
    v2 = server.model("pricer").version
    assert not errors and v1 != v2 and versions <= {v1, v2}
    np.testing.assert_allclose(server.predict("pricer", X),
                               load_backend(model_files / "v2.onnx").run(X.astype(np.float32)), rtol=1e-6)


def test_failing_model_file_falls_back_to_bs_greeks_over_async_path(model_files, tmp_path):
    class Broken:
        name, device, n_in, dtype = "broken", "cpu", 3, np.float32
        calls = 0
        def run(self, x):
            Broken.calls += 1
            if Broken.calls > 3:          # passes its warm-up, then fails
                raise RuntimeError("device lost")
            return np.zeros((len(x), 5), np.float32)

    server = InferenceServer(InferenceSettings(failure_threshold=2, cache_size=0))
    server.load("pricer", Broken(), fallback="bs_greeks")
    X = bs_data(6, np.random.default_rng(4))["X"]

    async def run():
        try:
            return await asyncio.gather(*(server.infer_async("pricer", x, "hedging") for x in X))
        finally:
            await server.stop()

    preds = asyncio.run(run())
    assert [p.reason for p in preds] == ["backend_error"] * 6        # one batch, one failure
    np.testing.assert_allclose(np.vstack([p.outputs for p in preds]), bs_greeks_fallback(X), rtol=1e-12)
    assert server.health()["models"]["pricer"]["fallbacks"] == 6
    (tmp_path / "x.onnx").write_bytes(b"\x00garbage")
    version = server.model("pricer").version
    with pytest.raises(ValueError, match="did not load"):
        server.reload("pricer", tmp_path / "x.onnx")
    assert server.model("pricer").version == version
