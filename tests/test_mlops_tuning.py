"""Optuna trials fanned out on a Dask LocalCluster of 2 process workers, sharing one journal-file
study; the study is logged to MLflow."""

from __future__ import annotations

import math

import optuna
import pytest

from mlops_support import mlflow_template, mlops_settings  # noqa: F401  (fixtures)
from ultimate_nb.core.parallel import dask_client
from ultimate_nb.data.historical import load_sp500
from ultimate_nb.live.strategies import signal_dataset
from ultimate_nb.ml.mlops import SignalObjective, log_study, optuna_storage, start_tracking, tune


@pytest.mark.slow
def test_tune_on_two_process_workers_shares_one_journal_study_and_logs_it(mlops_settings):
    s = mlops_settings
    X, y = signal_dataset(load_sp500().loc["2004":"2010"])
    cut = int(len(X) * 0.8)
    obj = SignalObjective(X.iloc[:cut].to_numpy(), y.iloc[:cut].to_numpy(), X.iloc[cut:].to_numpy(),
                          y.iloc[cut:].to_numpy(), epochs=40, report_every=10)
    with dask_client(n_workers=2, processes=True) as client:
        study = tune(obj, 10, "slow-test", s, n_workers=2, client=client)
    states = [t.state for t in study.trials]
    assert len(states) == 10
    assert all(st in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for st in states)
    assert math.isfinite(study.best_value) and set(study.best_params) == {"hidden", "weight_decay", "lr"}
    again = optuna.load_study(study_name="slow-test", storage=optuna_storage(None, s.optuna_journal))
    assert len(again.trials) == 10                                   # all in the one journal file
    tr = start_tracking(s)
    m = tr.client.get_run(log_study(tr, study)).data.metrics
    assert m["n_trials"] == 10 and m["best_value"] == pytest.approx(study.best_value)
