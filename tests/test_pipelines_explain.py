"""pipelines/explain_models.ipynb under papermill, small (no figures: 04_explain draws them): SHAP/LIME reports of the pricer and the signal model,
the pricer registered by train_multitask and the signal served from the registry, their reports logged as artifacts of those versions."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm

from mlops_support import mlflow_template, mlops_settings  # noqa: F401  (fixtures)
from ultimate_nb.data.historical import load_sp500
from ultimate_nb.live.strategies import fit_signal_mlp, signal_dataset
from ultimate_nb.ml.backends import export_onnx
from ultimate_nb.ml.mlops import log_training, start_tracking

NB = Path(__file__).resolve().parents[1] / "pipelines" / "explain_models.ipynb"
TRAIN = NB.with_name("train_multitask.ipynb")


def register_signal(tmp: Path, settings) -> tuple:
    "A briefly trained signal model, exported to ONNX and registered as signal@champion; return (tracking, run)."
    X, y = signal_dataset(load_sp500().loc["2008-01-01":"2012-12-31"])
    onnx = tmp / "signal.onnx"
    export_onnx(fit_signal_mlp(X, y, hidden=8, epochs=10), onnx, X.to_numpy())
    tr = start_tracking(settings)
    run = log_training(tr, "train-signal", {"epochs": 10}, {}, {"X_train": X}, onnx, register="signal")
    tr.client.set_registered_model_alias("signal", "champion", run.version)
    return tr, run


def train_pricer(tmp: Path, settings) -> dict:
    "train_multitask.ipynb, briefly, registering its ONNX pricer as pricer@champion; return its results.json."
    pm.execute_notebook(TRAIN, tmp / "train.ipynb", kernel_name="python3", cwd=str(tmp), progress_bar=False,
                        parameters=dict(n_train=128, n_test=128, epochs=20, threads=1, out_dir=str(tmp / "train"),
                                        mlflow_uri=settings.tracking_uri, mlflow_artifacts=settings.artifact_dir))
    return json.loads((tmp / "train" / "results.json").read_text())


def test_explain_pipeline_writes_reports_and_logs_the_registered_version(tmp_path, mlops_settings):
    trained = train_pricer(tmp_path, mlops_settings)
    tr, run = register_signal(tmp_path, mlops_settings)
    assert trained["mlflow"] == {"run_id": trained["mlflow"]["run_id"], "model": "pricer", "version": "1",
                                 "alias": "champion"}
    assert str(tr.client.get_model_version_by_alias("pricer", "champion").version) == "1"
    out = tmp_path / "explain"
    pm.execute_notebook(NB, tmp_path / "run.ipynb", kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
                        parameters=dict(pricer=str(tmp_path / "train" / "pricer.pt"), signal="models:/signal@champion",
                                        tracking_uri=mlops_settings.tracking_uri, n_background=20, n_explain=6,
                                        nsamples=32, top=1, plots=False, out_dir=str(out)))
    rows = {(r["model"], r["output"]): r for r in json.loads((out / "summary.json").read_text())}
    assert set(rows) == {("pricer", "price"), ("pricer", "delta"), ("signal", "p_up")}
    for output in ("price", "delta"):          # the registered pricer's file: its torch module, deep SHAP, additive
        r = rows[("pricer", output)]
        assert r["additivity_deep"] < 1e-4 and r["additivity_kernel"] < 1e-4
        assert r["version"] == "1" and r["registered"] == ["pricer", "1"]
        p = Path(r["path"])
        assert p == out / "pricer" / "1" / output
        assert {"summary.md", "index.json", "importance.parquet", "values_deep.parquet",
                "values_gradient.parquet", "cost.csv"} <= {f.name for f in p.iterdir()}   # PNGs: plots=False here
        assert json.loads((p / "index.json").read_text())["methods"] == ["deep", "gradient", "kernel", "lime"]
        assert tr.client.get_model_version("pricer", "1").tags[f"explain.{output}"] == r["mlflow_uri"]
        arts = {a.path for a in tr.client.list_artifacts(trained["mlflow"]["run_id"], f"explain/{output}")}
        assert {f"explain/{output}/summary.md", f"explain/{output}/values_deep.parquet"} <= arts
    s = rows[("signal", "p_up")]                # the registered ONNX version: kernel SHAP and LIME
    assert s["version"] == run.version == "1" and s["additivity_kernel"] < 1e-4
    arts = {a.path for a in tr.client.list_artifacts(run.run_id, "explain/p_up")}
    assert {"explain/p_up/summary.md", "explain/p_up/index.json", "explain/p_up/values_kernel.parquet"} <= arts
    assert tr.client.get_model_version("signal", "1").tags["explain.p_up"] == s["mlflow_uri"]
    md = (Path(s["path"]) / "summary.md").read_text()
    assert "version `1`, output `p_up`" in md and "6 rows explained against 20 background rows, 14 features" in md


def test_signal_mlp_sigmoid_module_gives_the_functional_sigmoid_outputs():
    import numpy as np
    import torch
    net = fit_signal_mlp(np.random.default_rng(0).normal(size=(64, 5)), np.arange(64) % 2, hidden=4, epochs=3)
    assert isinstance(net.out, torch.nn.Sigmoid)      # a module: deep SHAP's rescale rules see it
    x = torch.as_tensor(np.random.default_rng(1).normal(scale=3.0, size=(256, 5)), dtype=torch.float32)
    with torch.no_grad():
        old = torch.sigmoid(net.net((x - net.mean) / net.std))   # the forward pass before the module
        assert torch.allclose(net(x), old, rtol=0, atol=1e-7)
    assert set(net.state_dict()) == {"mean", "std", "net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias",
                                     "net.4.weight", "net.4.bias"}   # no new weights: saved state dicts load as before



def test_deep_shap_adds_up_on_the_signal_mlp():
    import numpy as np
    from ultimate_nb.live.strategies import SIGNAL_FEATURES
    from ultimate_nb.ml.explain import explain_report
    X, y = signal_dataset(load_sp500().loc["2010-01-01":"2012-12-31"])
    x = X.to_numpy()
    rep = explain_report(fit_signal_mlp(X, y, hidden=8, epochs=10), x[:20], x[-6:], list(SIGNAL_FEATURES),
                         methods=["deep"], model="signal", version="t", output=0, output_name="p_up", plots=False)
    assert rep.explanations["deep"].additivity_error() < 1e-4   # was ~0.02 with the functional sigmoid
