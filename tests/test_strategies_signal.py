"""The model strategy end to end: pipelines/train_signal.ipynb trains and exports the classifier small
under papermill, and SignalStrategy trades on it through the inference server in `run_backtest` on the
held-out years 2016-2018 of the S&P 500, compared with buy and hold."""

from __future__ import annotations

import json
import math
from pathlib import Path

import papermill as pm
import pytest

from ultimate_nb.core.config import Settings
from ultimate_nb.data.historical import load_sp500, replay_from_spec
from ultimate_nb.live.backtest import run_backtest
from ultimate_nb.live.strategies import SIGNAL_FEATURES, SignalStrategy, replay_bars

REPO = Path(__file__).resolve().parents[1]
QTY = 40


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("train_signal")
    pm.execute_notebook(str(REPO / "pipelines" / "train_signal.ipynb"), str(tmp / "executed.ipynb"),
                        parameters={"out_dir": str(tmp / "results"), "epochs": 60},
                        kernel_name="python3", cwd=str(REPO), progress_bar=False)
    return json.loads((tmp / "results" / "metrics.json").read_text())


def test_pipeline_writes_model_and_metrics(trained):
    assert Path(trained["model"]).is_file()
    assert trained["features"] == list(SIGNAL_FEATURES)
    for part in ("train", "validation"):
        m = trained[part]
        assert 0.3 < m["accuracy"] < 0.8 and 0.3 < m["auc"] < 0.8 and math.isfinite(m["log_loss"])
    assert trained["train"]["rows"] > 3000 and 700 < trained["validation"]["rows"] < 800   # 1999-2012, 2013-2015
    assert trained["export"]["worst_over_tol"] <= 1.0


def test_signal_strategy_trades_out_of_sample_on_the_served_model(trained):
    settings = Settings(inference={"models": {"signal": {"path": trained["model"]}}})
    history = replay_bars(replay_from_spec("replay:sp500", start="2014-01-01", end="2016-01-01"))
    feed = replay_from_spec("replay:sp500", start="2016-01-01", end="2019-01-01")
    sig = SignalStrategy(threshold=0.52, order_qty=QTY)
    res = run_backtest(sig, feed, settings, history=history)
    px = load_sp500()["close"].loc["2016-01-01":"2018-12-31"]
    assert res.bars == len(px) == 754
    assert res.stats["n_fills"] > 0 and len(sig.last_prob) == 1
    assert set(res.fills["client_order_id"].str.split("-").str[0]) == {"signal"}
    assert res.positions["qty"].abs().max() <= QTY                        # long-only, at most QTY
    hold = QTY * (px.iloc[-1] - px.iloc[0]) / settings.broker.initial_cash
    print(f"signal OOS 2016-2018: return {res.stats['total_return']:+.4%} sharpe {res.stats['sharpe']:.2f} "
          f"fills {res.stats['n_fills']}; buy-and-hold {QTY} units {hold:+.4%}")
    assert math.isfinite(res.stats["total_return"]) and abs(res.stats["total_return"]) < 0.2
