"""Helpers of the tests/test_mlops_*.py files: an MLflow registry in a temp folder, created fast.

A new MLflow SQLite database runs every Alembic migration (seconds); `mlops_settings` builds one
template database per session and copies it for each test.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from ultimate_nb.ml.mlops import MLOpsSettings, start_tracking

logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory) -> Path:
    "An empty, migrated MLflow database file."
    d = tmp_path_factory.mktemp("mlflow-template")
    start_tracking(MLOpsSettings(tracking_uri=f"sqlite:///{d}/mlflow.db", artifact_dir=str(d / "art"),
                                 experiment="template"))
    return d / "mlflow.db"


@pytest.fixture
def mlops_settings(tmp_path, mlflow_template) -> MLOpsSettings:
    "Settings with the registry, artifacts, journal and Optuna journal under `tmp_path`."
    shutil.copy(mlflow_template, tmp_path / "mlflow.db")
    return MLOpsSettings(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_dir=str(tmp_path / "art"),
                         journal_url=f"sqlite:///{tmp_path}/journal.db",
                         optuna_journal=str(tmp_path / "optuna.log"), min_holdout=100)
