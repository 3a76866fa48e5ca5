"""RegimeAllocation end to end in `run_backtest` on six skfolio S&P 500 stocks: it trades, de-risks in
the stressed regime (2008 Q4) against calm 2006, never looks ahead (a run on a feed cut earlier makes
the same decisions and orders), rebalances on a clock timer, and is selectable by settings."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ultimate_nb.core.config import Settings
from ultimate_nb.data.historical import Replay, frames
from ultimate_nb.live.backtest import run_backtest
from ultimate_nb.live.strategies import RegimeAllocation, replay_bars
from ultimate_nb.live.strategy import load_strategies

SYMS = ["JNJ", "JPM", "KO", "MSFT", "WMT", "XOM"]
SETTINGS = Settings(risk={"max_order_qty": 100_000, "max_position_qty": 200_000})


@pytest.fixture(scope="module")
def data() -> tuple[dict, list]:
    panel = frames("skfolio_sp500")
    sub = {s: panel[s] for s in SYMS}
    return sub, replay_bars(Replay(sub, start="2000-01-01", end="2006-01-01"))


@pytest.fixture(scope="module")
def full(data):
    sub, history = data
    st = RegimeAllocation(SYMS, train_bars=1400)
    return st, run_backtest(st, Replay(sub, start="2006-01-01", end="2010-01-01"), SETTINGS, history=history)


def test_trades_and_derisks_when_stressed(full):
    st, res = full
    assert res.stats["n_fills"] > 50 and set(res.fills["instrument_id"]) == set(SYMS)
    assert set(res.fills["client_order_id"].str.split("-").str[0]) == {"regime"}
    d = st.decisions
    calm, crash = d.loc["2006-01-01":"2006-12-31"], d.loc["2008-10-01":"2008-12-31"]
    assert calm["stressed"].mean() < 0.1 and crash["stressed"].mean() > 0.9
    assert crash["exposure"].mean() < 0.5 * calm["exposure"].mean()
    assert 0.9 < calm["exposure"].mean() < 1.1 and crash["exposure"].max() < 0.35
    assert st.fits == [1400] and math.isfinite(res.stats["sharpe"])


def test_no_look_ahead(data, full):
    sub, history = data
    st, res = full
    short = RegimeAllocation(SYMS, train_bars=1400)
    sres = run_backtest(short, Replay(sub, start="2006-01-01", end="2008-07-01"), SETTINGS, history=history)
    cut = sres.equity.index[-1]
    pd.testing.assert_frame_equal(short.decisions, st.decisions.loc[:cut])
    mine = sres.orders.drop(columns="status")
    theirs = res.orders[res.orders["ts"] <= cut].reset_index(drop=True).drop(columns="status")
    pd.testing.assert_frame_equal(mine, theirs)
    assert len(mine) > 50


def test_refit_and_timer_rebalance(data):
    sub, history = data
    st = RegimeAllocation(SYMS, weights="min_variance", train_bars=1400, refit_every=126,
                          rebalance_s=7 * 86400.0)
    res = run_backtest(st, Replay(sub, start="2008-01-01", end="2009-01-01"), SETTINGS, history=history)
    assert st.fits[0] == 1400 and len(st.fits) >= 2 and all(b > a for a, b in zip(st.fits, st.fits[1:]))
    assert len(st.rebalances) >= 40 and res.stats["n_fills"] > 0            # weekly timer, about 52 a year
    w = pd.DataFrame(st.rebalances)[SYMS]
    assert ((w.sum(axis=1) - 1).abs() < 1e-4).all() and (w.min(axis=1) > -1e-6).all()


def test_selectable_by_settings(data):
    sub, history = data
    s = Settings(strategy={"strategies": [{"id": "alloc", "class": "ultimate_nb.live.strategies:RegimeAllocation",
                                           "params": {"capital": 500_000, "train_bars": 1400},
                                           "symbols": SYMS}]}, risk=SETTINGS.risk)
    (st,) = load_strategies(s.strategy)
    assert isinstance(st, RegimeAllocation) and st.strategy_id == "alloc" and st.symbols == tuple(SYMS)
    res = run_backtest(st, Replay(sub, start="2006-01-01", end="2006-07-01"), s, history=history)
    assert set(res.fills["client_order_id"].str.split("-").str[0]) == {"alloc"}
    assert 0.9 < st.decisions["exposure"].mean() < 1.1                      # of its own capital ...
    assert 0.9 < res.positions["market_value"].abs().sum() / 500_000 < 1.1   # ... half the book's cash


def test_bad_params():
    with pytest.raises(ValueError, match="weights must be"):
        RegimeAllocation(weights="max")
    with pytest.raises(ValueError, match="calm_prob"):
        RegimeAllocation(calm_prob=0.8, stress_prob=0.5)
    with pytest.raises(ValueError, match="rebalance_every must be an integer"):
        RegimeAllocation(rebalance_every=0)
    with pytest.raises(ValueError, match="symbols must name"):
        RegimeAllocation().warm_up(replay_bars(Replay({"KO": frames("skfolio_sp500")["KO"]}, end="1990-02-01")))
