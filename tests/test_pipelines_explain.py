"""pipelines/explain_models.ipynb under papermill, small (no figures: 04_explain draws them): SHAP/LIME reports of the pricer and the signal model,
the signal served from an MLflow registry version and its reports logged as that version's artifacts."""

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


def register_signal(tmp: Path, settings) -> tuple:
    "A briefly trained signal model, exported to ONNX and registered as signal@champion; return (tracking, run)."
    X, y = signal_dataset(load_sp500().loc["2008-01-01":"2012-12-31"])
    onnx = tmp / "signal.onnx"
    export_onnx(fit_signal_mlp(X, y, hidden=8, epochs=10), onnx, X.to_numpy())
    tr = start_tracking(settings)
    run = log_training(tr, "train-signal", {"epochs": 10}, {}, {"X_train": X}, onnx, register="signal")
    tr.client.set_registered_model_alias("signal", "champion", run.version)
    return tr, run


def test_explain_pipeline_writes_reports_and_logs_the_registered_version(tmp_path, mlops_settings):
    tr, run = register_signal(tmp_path, mlops_settings)
    out = tmp_path / "explain"
    pm.execute_notebook(NB, tmp_path / "run.ipynb", kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
                        parameters=dict(signal="models:/signal@champion", tracking_uri=mlops_settings.tracking_uri,
                                        pricer_epochs=10, pricer_rows=256, n_background=20, n_explain=6,
                                        nsamples=32, top=1, plots=False, out_dir=str(out)))
    rows = {(r["model"], r["output"]): r for r in json.loads((out / "summary.json").read_text())}
    assert set(rows) == {("pricer", "price"), ("pricer", "delta"), ("signal", "p_up")}
    for output in ("price", "delta"):          # the pricer trained here is a torch module: deep SHAP, additive
        r = rows[("pricer", output)]
        assert r["additivity_deep"] < 1e-4 and r["additivity_kernel"] < 1e-4 and r["mlflow_uri"] is None
        p = Path(r["path"])
        assert p == out / "pricer" / r["version"] / output
        assert {"summary.md", "index.json", "importance.parquet", "values_deep.parquet",
                "values_gradient.parquet", "cost.csv"} <= {f.name for f in p.iterdir()}   # PNGs: plots=False here
        assert json.loads((p / "index.json").read_text())["methods"] == ["deep", "gradient", "kernel", "lime"]
    s = rows[("signal", "p_up")]                # the registered ONNX version: kernel SHAP and LIME
    assert s["version"] == run.version == "1" and s["additivity_kernel"] < 1e-4
    arts = {a.path for a in tr.client.list_artifacts(run.run_id, "explain/p_up")}
    assert {"explain/p_up/summary.md", "explain/p_up/index.json", "explain/p_up/values_kernel.parquet"} <= arts
    assert tr.client.get_model_version("signal", "1").tags["explain.p_up"] == s["mlflow_uri"]
    md = (Path(s["path"]) / "summary.md").read_text()
    assert "version `1`, output `p_up`" in md and "6 rows explained against 20 background rows, 14 features" in md
