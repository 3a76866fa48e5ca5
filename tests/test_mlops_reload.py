"""Continuous training end to end in one process: a running InferenceServer serving
`models:/signal@champion` swaps to the new champion after a promotion, and back after a rollback,
without a restart; the decisions are journaled."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from conftest import eventually
from mlops_support import mlflow_template, mlops_settings  # noqa: F401  (fixtures)
from ultimate_nb.data.historical import load_sp500
from ultimate_nb.ml.inference import InferenceServer, load_backend
from ultimate_nb.ml.mlops import (CHAMPION, ModelJournal, RegistryWatcher, alias_version, promote_if_better,
                                  rollback, start_tracking, train_and_register)


@pytest.fixture(scope="module")
def bars():
    return load_sp500().loc["2004":"2012"]


def serve_in_background(server: InferenceServer):
    "Run the server's event loop (micro-batcher) on a thread; return (loop, thread)."
    loop = asyncio.new_event_loop()
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    return loop, t


def test_running_server_serves_the_new_champion_after_promotion_without_restart(tmp_path, mlops_settings, bars):
    s = mlops_settings
    tr, mj = start_tracking(s), ModelJournal.from_settings(s)
    v1 = train_and_register(bars, "2005-01-01", "2010-12-31", "2012-12-31", s, tmp_path / "v1", hidden=8,
                            epochs=2, tracking=tr, journal=mj, who="test")
    assert promote_if_better(tr, v1.X_holdout, v1.y_holdout, settings=s, journal=mj, who="test").promoted
    server = InferenceServer(tracking_uri=tr.uri)
    server.load("signal", f"models:/{s.model_name}@{CHAMPION}")
    loop, thread = serve_in_background(server)
    watcher = RegistryWatcher(server, poll_s=0.05)
    watcher.start()
    try:
        x = v1.X_holdout.to_numpy()
        ask = lambda: asyncio.run_coroutine_threadsafe(server.predict_async("signal", x[:5]), loop).result(5)
        p_v1 = ask()[:, 0]
        v2 = train_and_register(bars, "2005-01-01", "2010-12-31", "2012-12-31", s, tmp_path / "v2", hidden=8,
                                epochs=60, seed=3, tracking=tr, journal=mj, who="test")
        # labels = the challenger's own calls: it beats the champion on them by construction
        v2_model = load_backend(v2.onnx_path)
        y_calls = (v2_model.run(x.astype(np.float32))[:, 0] > 0.5).astype(float)
        decision = promote_if_better(tr, v2.X_holdout, y_calls, settings=s, journal=mj, who="test")
        assert decision.promoted, decision.reason
        eventually(lambda: server.model("signal").version == f"{s.model_name}/{v2.version}", timeout=20)
        p_v2 = ask()[:, 0]
        assert np.abs(p_v2 - p_v1).max() > 1e-4
        rollback(tr, "test: back to v1", settings=s, journal=mj, who="test")
        eventually(lambda: server.model("signal").version == f"{s.model_name}/{v1.version}", timeout=20)
        np.testing.assert_allclose(ask()[:, 0], p_v1, atol=1e-6)
    finally:
        watcher.stop()
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    types = [e.type for e in mj.history(s.model_name)]
    assert types == ["ModelRegistered", "ModelPromoted", "ModelRegistered", "ModelPromoted", "ModelRolledBack"]
    last = mj.history(s.model_name)[-1].payload
    assert (last["who"], last["why"], last["version"], last["previous"]) == ("test", "test: back to v1", v1.version,
                                                                             v2.version)
    assert alias_version(tr, s.model_name, CHAMPION) == v1.version
    assert [n for _, n, _ in watcher.reloads] == ["signal", "signal"]
