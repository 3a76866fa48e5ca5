"""`InferenceServer.refresh` while models are unloaded: the registry watcher's thread polls while a
request (or the monitoring flow) unloads a model. A model unloaded during a pass is skipped, never
reloaded, and the pass raises nothing (it raised `UnknownModelError` before)."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from ultimate_nb.ml import inference
from ultimate_nb.ml.inference import Backend, InferenceServer, UnknownModelError


class Scale(Backend):
    name = "scale"

    def __init__(self, k: float = 2.0):
        self.n_in, self.k = 2, k

    def run(self, x):
        return self.k * x


def registry_server(*names: str) -> InferenceServer:
    "A server whose models look loaded from `models:/NAME@champion` (version NAME/1)."
    srv = InferenceServer()
    for n in names:
        mv = srv.load(n, Scale(), version=f"{n}/1")
        srv._models[n] = dataclasses.replace(mv, source=f"models:/{n}@champion")
    return srv


def test_a_model_unloaded_during_a_pass_is_skipped(monkeypatch):
    srv = registry_server("a", "b")

    def version(uri, tracking_uri=None):          # reading a's alias takes long enough for b to go
        if uri.startswith("models:/a"):
            srv.unload("b")
        return uri.split(":/")[1].split("@")[0] + "/1"

    monkeypatch.setattr(inference, "registry_version", version)
    assert srv.refresh() == []
    assert srv.models == ["a"]


def test_a_model_unloaded_while_its_alias_is_read_is_not_reloaded(monkeypatch):
    srv = registry_server("a")

    def moved(uri, tracking_uri=None):            # the alias moved, and the model is unloaded meanwhile
        srv.unload("a")
        return "a/2"

    monkeypatch.setattr(inference, "registry_version", moved)
    assert srv.refresh() == []
    assert srv.models == []                       # not brought back by the reload
    with pytest.raises(UnknownModelError):
        srv.refresh("a")                          # naming an unknown model is still an error


def test_a_moved_alias_still_swaps_the_new_version_in(monkeypatch):
    srv = registry_server("a", "b")
    monkeypatch.setattr(inference, "registry_version", lambda uri, tracking_uri=None: "a/2" if "/a@" in uri else "b/1")
    srv._models["a"] = dataclasses.replace(srv.model("a"), load_args={**srv.model("a").load_args, "version": "a/2"})
    assert srv.refresh() == ["a"]
    assert srv.model("a").version == "a/2" and srv.model("b").version == "b/1"
    np.testing.assert_allclose(srv.predict("a", np.ones((1, 2))), 2.0)


def test_polling_while_another_thread_loads_and_unloads_never_raises(monkeypatch):
    srv = registry_server("keep")
    monkeypatch.setattr(inference, "registry_version", lambda uri, tracking_uri=None: uri.split(":/")[1].split("@")[0] + "/1")
    errors, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            try:
                srv.refresh()
            except Exception as e:                # noqa: BLE001  (the test collects what the watcher would log)
                errors.append(e)

    t = threading.Thread(target=poll)
    t.start()
    try:
        for i in range(300):
            mv = srv.load("flip", Scale(), version="flip/1")
            srv._models["flip"] = dataclasses.replace(mv, source="models:/flip@champion")
            srv.unload("flip")
    finally:
        stop.set()
        t.join(10)
    assert errors == [] and srv.models == ["keep"]
