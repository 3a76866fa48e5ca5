"""Backtest = live: the same strategy on the same replay gives the same orders, fills and positions from
`run_backtest` (SimClock, `run_simulated`) and from the live path (`TradingSystem.run()` in an asyncio
loop on `market.feed = replay:sp500` at `market.speed = inf`)."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from ultimate_nb.core.config import Settings
from ultimate_nb.data.historical import Replay, frames
from ultimate_nb.live.backtest import crossover, fills_frame, orders_frame, positions_frame, run_backtest
from ultimate_nb.live.system import TradingSystem


@pytest.fixture(scope="module")
def live() -> TradingSystem:
    "A book run the live way over S&P 500 1999-2018, flat out, with an in-memory journal."
    s = Settings(market={"feed": "replay:sp500", "speed": math.inf}, store={"url": "sqlite://"})
    ts = TradingSystem(s, strategy=crossover(10, 30))
    asyncio.run(asyncio.wait_for(ts.run(), timeout=120))
    yield ts
    ts.close()


@pytest.fixture(scope="module")
def backtest():
    return run_backtest(crossover(10, 30), Replay(frames("sp500")))


def test_live_replay_and_backtest_send_the_same_orders(live, backtest):
    lo, bo = orders_frame(live), backtest.orders
    assert len(bo) > 100 and len(lo) == len(bo)
    assert list(lo["client_order_id"]) == list(bo["client_order_id"])
    assert list(lo["side"]) == list(bo["side"]) and list(lo["qty"]) == list(bo["qty"])
    assert list(lo["ts"]) == list(bo["ts"]) and set(bo["status"]) == {"filled"}


def test_live_replay_and_backtest_get_the_same_fills_and_positions(live, backtest):
    lf, bf = fills_frame(live), backtest.fills
    assert list(lf["fill_id"]) == list(bf["fill_id"]) and list(lf["qty"]) == list(bf["qty"])
    assert list(lf["side"]) == list(bf["side"]) and list(lf["ts"]) == list(bf["ts"])
    np.testing.assert_allclose(lf["price"], bf["price"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(lf["fee"], bf["fee"], rtol=0, atol=1e-9)
    lp, bp = positions_frame(live), backtest.positions
    assert list(lp.index) == list(bp.index) and list(lp["qty"]) == list(bp["qty"])
    np.testing.assert_allclose(lp[["avg_price", "realized_pnl", "fees"]], bp[["avg_price", "realized_pnl", "fees"]],
                               rtol=0, atol=1e-9)


def test_backtest_equity_curve_is_the_live_books_equity_curve(live, backtest):
    ts, eq = (np.array(x) for x in zip(*live.equity_curve))
    assert list(backtest.equity.index.asi8) == list(ts)
    np.testing.assert_allclose(backtest.equity.to_numpy(), eq, rtol=0, atol=1e-6)
    assert backtest.summary["orders"] == live.replay_summary()["orders"]
