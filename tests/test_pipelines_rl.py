"""pipelines/train_rl.ipynb runs under papermill, small: it trains a PPO agent on the S&P 500 years up to
2012, evaluates it on the held-out 2013-2018 against buy-and-hold, the crossover and a random policy,
saves the model for RLPolicyStrategy (the zip, and the checked ONNX head the book's inference server serves) and,
with MLflow, logs the run and registers the ONNX so that `models:/rl_policy@champion` serves it."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import pytest

pytest.importorskip("stable_baselines3")

import numpy as np

from ultimate_nb.ml.rl import RLPolicy, policy_meta

REPO = Path(__file__).resolve().parents[1]


def run_pipeline(tmp_path: Path, **params) -> dict:
    "Execute train_rl.ipynb small into `tmp_path`; return its metrics.json."
    params = {"out_dir": str(tmp_path / "models"), "name": "tiny", "total_timesteps": 512, "n_envs": 2,
              "algo_kwargs": {"n_steps": 256, "batch_size": 128, "n_epochs": 1}, "mlflow_uri": "", **params}
    pm.execute_notebook(str(REPO / "pipelines" / "train_rl.ipynb"), str(tmp_path / "executed.ipynb"),
                        parameters=params, kernel_name="python3", cwd=str(REPO), progress_bar=False)
    return json.loads((tmp_path / "models" / "tiny.metrics.json").read_text())


def test_train_rl_pipeline_saves_a_loadable_model_and_held_out_metrics(tmp_path):
    m = run_pipeline(tmp_path)
    pol = RLPolicy(m["model"])
    assert pol.features == tuple(m["parameters"]["features"]) and pol.max_position == 10
    ev = m["evaluation"]
    assert set(ev) == {"agent", "buy_and_hold", "crossover_5_20", "random"}
    hold = ev["buy_and_hold"]
    assert hold["turnover"] == 10 and 0 < hold["costs"] < 5    # one purchase of 10 units, then held
    assert 300 < hold["pnl"] < 20_000                           # the index rose 2013-2018: 10 x its gain
    assert ev["crossover_5_20"]["costs"] > hold["costs"]
    assert "mlflow_run_id" not in m and "registered" not in m
    assert m["onnx_check"]["mismatches"] == 0 and m["onnx_check"]["rows"] == 1_000
    meta = policy_meta(m["onnx"])                                # the ONNX head carries the agent's metadata
    assert meta["features"] == list(pol.features) and meta["max_position"] == 10


@pytest.mark.slow
def test_train_rl_pipeline_logs_to_mlflow_when_importable(tmp_path):
    pytest.importorskip("mlflow")
    m = run_pipeline(tmp_path, mlflow_uri=f"sqlite:///{tmp_path}/mlflow.db", mlflow_artifacts=str(tmp_path / "art"))
    assert m.get("mlflow_run_id") and any((tmp_path / "art").rglob("tiny.zip"))
    from ultimate_nb.ml.inference import InferenceServer
    reg = m["registered"]
    assert reg["uri"] == "models:/rl_policy@champion" and reg["version"] == "1"
    srv = InferenceServer(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    srv.load("rl_policy", reg["uri"])                             # what an inference.models entry does
    local = InferenceServer()
    local.load("rl_policy", m["onnx"])
    x = np.random.default_rng(0).uniform(-5, 5, (64, len(m["parameters"]["features"]) + 1))
    np.testing.assert_allclose(srv.predict("rl_policy", x), local.predict("rl_policy", x), rtol=1e-12)   # the same file
    assert policy_meta(srv.model("rl_policy")) == policy_meta(m["onnx"])
