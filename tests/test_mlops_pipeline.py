"""pipelines/train_challenger.ipynb under papermill, small: validate, train, register, promote, journal."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm

from mlops_support import mlflow_template, mlops_settings  # noqa: F401  (fixtures)
from ultimate_nb.ml.mlops import CHAMPION, ModelJournal, alias_version, start_tracking

NB = Path(__file__).resolve().parents[1] / "pipelines" / "train_challenger.ipynb"


def test_train_challenger_pipeline_registers_and_promotes_the_first_model(tmp_path, mlops_settings):
    s = mlops_settings
    out = tmp_path / "out"
    pm.execute_notebook(NB, tmp_path / "run.ipynb", kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
                        parameters=dict(train_start="2005-01-01", train_end="2010-12-31", holdout_end="2012-12-31",
                                        epochs=20, hidden=8, tracking_uri=s.tracking_uri, artifact_dir=s.artifact_dir,
                                        journal_url=s.journal_url, who="pipeline-test", out_dir=str(out)))
    d = json.loads((out / "decision.json").read_text())
    assert d["promoted"] and d["reason"] == "no champion yet" and d["champion"] == d["version"] == "1"
    assert (out / "signal.onnx").is_file()
    tr = start_tracking(s)
    assert alias_version(tr, s.model_name, CHAMPION) == "1"
    run = tr.client.get_run(d["run_id"]).data
    assert run.params["epochs"] == "20" and "data.X_train.sha256" in run.tags and "env.numpy" in run.tags
    entries = ModelJournal.from_settings(s).history(s.model_name)
    assert [e.type for e in entries] == ["ModelRegistered", "ModelPromoted"]
    assert entries[-1].payload["who"] == "pipeline-test"
