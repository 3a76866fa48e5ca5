"""Decision explanations in the loop: a SignalStrategy whose orders record their feature vector in the
book's DecisionExplainer, run through `run_backtest` on the S&P 500
with the classifier served as TorchScript by the book's inference server, then explained by client
order id; and an `explain_report` of the served model saved per model version."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ultimate_nb.core.config import Settings
from ultimate_nb.data.historical import load_sp500, replay_from_spec
from ultimate_nb.live.backtest import run_backtest
from ultimate_nb.live.strategies import SIGNAL_FEATURES, SignalStrategy, fit_signal_mlp, replay_bars, signal_dataset
from ultimate_nb.ml.explain import DecisionExplainer, explain_report, server_model_fn
from ultimate_nb.ml.inference import InferenceServer, TorchBackend


@pytest.fixture(scope="module")
def signal_model(tmp_path_factory):
    import torch
    X, y = signal_dataset(load_sp500().loc[:"2013-12-31"])
    mlp = fit_signal_mlp(X, y, epochs=60)
    path = tmp_path_factory.mktemp("signal") / "signal.pt"
    torch.jit.trace(mlp, torch.as_tensor(X.to_numpy()[:4], dtype=torch.float32)).save(str(path))
    return mlp, path, X


def test_orders_of_a_signal_backtest_are_explained_by_client_order_id(signal_model):
    _, path, _ = signal_model
    settings = Settings(inference={"models": {"signal": {"path": str(path), "backend": "torchscript"}}})
    history = replay_bars(replay_from_spec("replay:sp500", start="2015-01-01", end="2016-01-01"))
    feed = replay_from_spec("replay:sp500", start="2016-01-01", end="2016-07-01")
    sig = SignalStrategy(threshold=0.5, order_qty=10)       # the book gives it its DecisionExplainer
    res = run_backtest(sig, feed, settings, history=history)
    assert sig.explainer is not None
    coids = list(res.fills["client_order_id"].unique())
    assert coids and all(c in sig.explainer for c in coids[-64:])
    r = sig.explainer.explanation(coids[-1])
    assert set(r["contributions"]) == set(SIGNAL_FEATURES) and not r["stale"]
    assert abs(r["base_value"] + sum(r["contributions"].values()) - r["prediction"]) < 1e-6
    assert 0 < r["prediction"] < 1 and len(r["version"]) == 12       # the TorchScript file's hash


def test_report_of_the_served_model_is_saved_under_its_version(signal_model, tmp_path):
    mlp, _, X = signal_model
    srv = InferenceServer()
    srv.load("signal", TorchBackend(mlp), version="v7")
    f, version = server_model_fn(srv, "signal")
    x = X.to_numpy()
    rep = explain_report(f, x[::97][:40], x[-20:], list(SIGNAL_FEATURES), methods=("kernel", "lime"),
                         model="signal", version=version, nsamples=128, plots=True)
    out = rep.save(tmp_path)
    idx = json.loads((out / "index.json").read_text())
    assert out == tmp_path / "signal" / "v7" and idx["methods"] == ["kernel", "lime"]
    assert idx["additivity_error"]["kernel"] < 1e-6
    assert all((out / p).is_file() for p in idx["figures"].values())
    assert list(rep.frames["importance"].index) == list(rep.explanations["kernel"].importance().index)
