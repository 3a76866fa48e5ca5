"""The papermill pipelines run end to end, small: pipelines/backtest.ipynb and pipelines/run.py."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import papermill as pm
import pandas as pd
import pytest
from papermill.exceptions import PapermillExecutionError

from ultimate_nb.core.events import OrderFilled
from ultimate_nb.core.store import Journal, make_engine

REPO = Path(__file__).resolve().parents[1]
BACKTEST = REPO / "pipelines" / "backtest.ipynb"
RUN = REPO / "pipelines" / "run.py"
PIPELINES = REPO / "pipelines"


def run_backtest(tmp: Path, **params) -> dict:
    "Execute the backtest notebook into `tmp` with `params`; return its results.json."
    out_dir = tmp / "results"
    pm.execute_notebook(
        BACKTEST,
        tmp / "backtest.ipynb",
        parameters={"out_dir": str(out_dir), **params},
        kernel_name="python3",
        cwd=str(tmp),
        progress_bar=False,
    )
    return json.loads((out_dir / "results.json").read_text())


def journal_fills(journal_dir: str | Path) -> list[OrderFilled]:
    j = Journal(make_engine(None, journal_dir))
    try:
        return [e for e in j.events(stream="orders") if isinstance(e, OrderFilled)]
    finally:
        j.engine.dispose()


@pytest.fixture(scope="module")
def half_hour(tmp_path_factory) -> dict:
    "results.json of a half-hour backtest with the default parameters."
    return run_backtest(tmp_path_factory.mktemp("backtest"), hours=0.5)


def test_backtest_half_hour_writes_consistent_results(half_hour):
    r = half_hour
    assert r["parameters"]["hours"] == 0.5
    assert r["n_steps"] == 7200  # 0.5 h of 250 ms ticks
    assert r["bars"] == 30  # one equity sample per one-minute bar
    assert r["events"] > r["n_steps"]  # quotes for 3 symbols every tick, plus trades and bars
    assert (
        1 <= r["orders"] and r["fills"] <= 2 * r["orders"]
    )  # a market order fills at the touch, rest with impact
    assert sum(r["order_statuses"].values()) == r["orders"]
    for k in ("cash", "equity", "realized_pnl", "unrealized_pnl", "fees", "max_drawdown"):
        assert math.isfinite(r[k]), k
    assert 0.0 <= r["max_drawdown"] < 1.0
    assert r["sharpe"] is None or math.isfinite(r["sharpe"])


def test_backtest_cash_equals_initial_cash_minus_journaled_fills(half_hour):
    r = half_hour
    fills = journal_fills(r["journal_dir"])
    assert len(fills) == r["fills"]
    spent = sum(int(f.side) * f.qty * f.price + f.fee for f in fills)
    assert r["cash"] == pytest.approx(
        r["initial_cash"] - spent, abs=0.01
    )  # the snapshot rounds to the cent
    assert r["fees"] == pytest.approx(sum(f.fee for f in fills), abs=1e-9)


def test_backtest_equity_is_cash_plus_positions_and_pnl_adds_up(half_hour):
    r = half_hour
    rows = r["per_symbol"]
    assert r["equity"] == pytest.approx(r["cash"] + sum(p["market_value"] for p in rows), abs=0.01)
    net = r["realized_pnl"] + r["unrealized_pnl"] - r["fees"]
    assert r["equity"] - r["initial_cash"] == pytest.approx(net, abs=0.02)
    assert sum(p["net_pnl"] for p in rows) == pytest.approx(net, abs=1e-6)


def test_backtest_kernel_is_this_environments_python(half_hour):
    assert Path(half_hour["python"]).parent == Path(sys.executable).parent


def test_backtest_with_fast_window_not_below_slow_fails_the_notebook(tmp_path):
    with pytest.raises(PapermillExecutionError) as err:
        run_backtest(tmp_path, hours=0.1, fast=30, slow=20)
    assert err.value.ename == "ConfigError"
    assert "fast must be < slow" in err.value.evalue
    assert not (tmp_path / "results" / "results.json").exists()


def run_pipeline(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RUN), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_run_py_executes_schedule_entry_with_override_reproducibly(tmp_path, half_hour):
    p = run_pipeline(
        "backtest-nightly",
        "--out-root",
        str(tmp_path / "runs"),
        "-p",
        "hours=0.5",
        "-p",
        f"out_dir={tmp_path / 'results'}",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    executed = sorted((tmp_path / "runs" / "backtest-nightly").glob("*.ipynb"))
    assert len(executed) == 1 and Path(p.stdout.strip()) == executed[0]
    r = json.loads((tmp_path / "results" / "results.json").read_text())
    assert r["parameters"]["hours"] == 0.5  # the override
    assert r["parameters"]["seed"] == 7  # from the schedule entry
    # same parameters and seed as the module's run: the same trades, to the cent
    for k in ("events", "orders", "fills", "cash", "equity", "bars"):
        assert r[k] == half_hour[k], k


def test_run_py_exits_non_zero_when_the_notebook_fails(tmp_path):
    p = run_pipeline(
        "backtest-smoke",
        "--out-root",
        str(tmp_path / "runs"),
        "-p",
        "hours=0.1",
        "-p",
        "fast=50",
        "-p",
        f"out_dir={tmp_path / 'results'}",
        cwd=tmp_path,
    )
    assert p.returncode == 1
    assert "fast must be < slow" in p.stderr
    assert (
        len(list((tmp_path / "runs" / "backtest-smoke").glob("*.ipynb"))) == 1
    )  # kept for post-mortem


def test_run_py_with_unknown_schedule_exits_2(tmp_path):
    p = run_pipeline("no-such-pipeline", cwd=tmp_path)
    assert p.returncode == 2
    assert "backtest-nightly" in p.stderr  # lists the known names


# Held-out RMSE of each head over the label's largest |value| (labels: options.greeks.bs_greeks) that a
# 512-sample, 300-epoch differential run must reach; seeded runs land at about half of each bound
MULTITASK_SMALL_TOL = {"price": 0.01, "delta": 0.05, "gamma": 0.15, "vega": 0.06, "theta": 0.05}


def test_train_multitask_pipeline_writes_model_onnx_and_accurate_greeks(tmp_path):
    out = tmp_path / "train"
    pm.execute_notebook(str(PIPELINES / "train_multitask.ipynb"), str(tmp_path / "executed.ipynb"),
                        parameters={"n_train": 512, "n_test": 512, "epochs": 300, "threads": 1,
                                    "out_dir": str(out)},
                        kernel_name="python3", cwd=str(REPO), progress_bar=False)
    res = json.loads((out / "results.json").read_text())
    assert set(res["heads"]) == {"price", "delta", "gamma", "vega", "theta"}
    for head, tol in MULTITASK_SMALL_TOL.items():   # price and the Greeks, on held-out inputs
        assert res["heads"][head]["rel_rmse"] < tol, (head, res["heads"][head], tol)
    assert res["onnx_max_rel_diff"] < 1e-4
    assert all(Path(p).is_file() for p in res["artefacts"])


def test_train_multitask_pipeline_rejects_unknown_weighting(tmp_path):
    with pytest.raises(PapermillExecutionError) as err:
        pm.execute_notebook(str(PIPELINES / "train_multitask.ipynb"), str(tmp_path / "x.ipynb"),
                            parameters={"n_train": 64, "n_test": 64, "epochs": 5, "weighting": "magic",
                                        "out_dir": str(tmp_path / "o")},
                            kernel_name="python3", cwd=str(REPO), progress_bar=False)
    assert "weighting" in str(err.value)


def test_train_gan_pipeline_gates_gan_facts_and_exports_parquet(tmp_path):
    out = tmp_path / "gan"
    pm.execute_notebook(str(PIPELINES / "train_gan.ipynb"), str(tmp_path / "executed.ipynb"),
                        parameters={"steps": 40, "n_paths": 40, "out_dir": str(out)},
                        kernel_name="python3", cwd=str(REPO), progress_bar=False)
    res = json.loads((out / "results.json").read_text())
    facts = res["facts"]
    assert {"real", "gaussian", "bootstrap", "garch_t", "gan"} <= set(facts)
    assert all(res["checks"].values()), res["checks"]
    gan, real = facts["gan"], facts["real"]
    # A 40-step run is far from trained, but it must not be broken: the generator of the first
    # release (std 0.05x real, lag-4 return ACF -0.40) fails every line here
    assert 0.5 < gan["std_ratio"] < 2, gan
    assert gan["max_acf_r"] < 0.1 and abs(gan["acf_r"]) < 0.05, gan
    assert gan["zigzag_abs"] < 0.05, gan                      # no period-2 |r| autocorrelation
    assert gan["kurtosis"] > facts["gaussian"]["kurtosis"], gan   # fatter tails than the Gaussian
    assert gan["W1_1d"] < 2 * facts["gaussian"]["W1_1d"], gan  # daily law in the right range
    assert gan["xcorr_err"] < 0.2, gan                         # cross-asset correlation kept
    assert real["kurtosis"] > 1 and facts["bootstrap"]["kurtosis"] > facts["gaussian"]["kurtosis"]
    for f in res["files"].values():
        assert pd.read_parquet(f)["path"].nunique() == 40


def test_train_gan_pipeline_state_labels_use_no_held_out_data():
    from ultimate_nb.ml.generative import load_market_returns, vol_state
    r = load_market_returns()
    cut = r.index.get_loc(pd.Timestamp("2014-12-31"))
    shocked = r.copy()
    shocked.iloc[cut + 1:] = -shocked.iloc[cut + 1:] * 4.0     # rewrite every held-out day
    pd.testing.assert_series_equal(vol_state(shocked).iloc[: cut + 1], vol_state(r).iloc[: cut + 1])
    pd.testing.assert_series_equal(vol_state(r.iloc[: cut + 1]), vol_state(r).iloc[: cut + 1])
