"""The book's first minutes and its order book: a warm strategy, manual orders beside it, a market that
resumes after a restart, working orders in the position limit, and short denial reasons."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import eventually
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order, OrderStatus
from ultimate_nb.live.system import TradingSystem

START = 1_767_275_400_000_000_000  # 2026-01-01 14:30 UTC, on a minute boundary
MINUTE_TICKS = 60 * 1000 // 250    # default tick_ms = 250


def make_book(var_dir: Path, start_ns: int = START, **sections) -> TradingSystem:
    settings = load_settings(overrides={"store": {"var_dir": str(var_dir)}, **sections}, env_file=None)
    return TradingSystem(settings, clock=SimClock(start_ns=start_ns))


def strategy_orders(book: TradingSystem) -> list:
    return [s for s in book.oms.orders.values() if s.order.strategy_id == "mac"]


def test_default_strategy_trades_within_first_minute_of_fresh_start(tmp_path):
    book = make_book(tmp_path)                         # default windows: fast 5, slow 20 bars
    book.run_simulated(MINUTE_TICKS)
    orders = strategy_orders(book)
    assert orders, "no strategy order in the first simulated minute"
    assert all(s.order.ts_init - START <= 60 * 10**9 for s in orders)
    assert all(s.status is OrderStatus.FILLED for s in orders)
    book.close()


def test_without_warm_up_the_strategy_waits_for_its_slow_window(tmp_path):
    book = make_book(tmp_path, strategy={"warm_up": False})
    book.run_simulated(19 * MINUTE_TICKS)               # 19 bars: one short of the slow window
    assert strategy_orders(book) == []
    book.close()


def test_manual_orders_are_not_flattened_and_do_not_block_the_strategy(tmp_path):
    book = make_book(tmp_path)
    bought = book.submit_order(Order("user-buy", "AAPL", "buy", 300, strategy_id="api", ts_init=START))
    assert bought.status is OrderStatus.FILLED
    far = round(book.marks["AAPL"] * 1.04, 2)           # inside the 5% collar, far from the market
    resting = book.submit_order(Order("user-rest", "AAPL", "sell", 200, "limit", limit_price=far, tif="gtc",
                                      strategy_id="api", ts_init=START))
    assert resting.status is OrderStatus.ACCEPTED
    book.run_simulated(10 * MINUTE_TICKS)
    mine = [s for s in strategy_orders(book) if s.order.instrument_id == "AAPL"]
    assert mine, "the user's working order blocked the strategy"
    own = book.position("AAPL", "mac")
    assert abs(own) == 100                              # the strategy holds its own target
    assert book.position("AAPL", "api") == 300          # the user's shares are untouched
    assert book.position("AAPL") == 300 + own
    assert book.oms.order("user-rest").status is OrderStatus.ACCEPTED
    assert [s.order.client_order_id for s in book.open_orders("AAPL", "api")] == ["user-rest"]
    book.close()


def test_restart_resumes_marks_from_the_journal(tmp_path):
    book = make_book(tmp_path)
    book.run_simulated(7 * MINUTE_TICKS + 17)           # a few ticks past the last bar end
    seq, saved = book._last_marks()
    before = book.account_snapshot()
    book.close()

    again = make_book(tmp_path, start_ns=book.clock.timestamp_ns())
    for sym, mark in saved["marks"].items():
        assert abs(again.marks[sym] - mark) <= 0.01 + 1e-9, sym        # within a tick
        assert again.marks[sym] != again.settings.market.initial_prices[again.simulator.symbols.index(sym)]
    after = again.account_snapshot()
    assert after["cash"] == before["cash"]
    assert {p["instrument_id"]: p["qty"] for p in after["positions"]} == \
        {p["instrument_id"]: p["qty"] for p in before["positions"]}
    # equity continues: the positions are re-marked by at most 17 ticks of moves plus rounding
    gross = sum(abs(p["qty"]) * p["mark"] for p in before["positions"])
    assert abs(after["equity"] - before["equity"]) <= 0.005 * gross + 1.0
    again.run_simulated(1)
    assert all(abs(again.marks[s] / saved["marks"][s] - 1) < 0.002 for s in saved["marks"])
    again.close()


def test_restart_with_resume_off_starts_from_initial_prices(tmp_path):
    book = make_book(tmp_path)
    book.run_simulated(3 * MINUTE_TICKS)
    book.close()
    again = make_book(tmp_path, market={"resume": False})
    assert again.simulator.mids.tolist() == again.settings.market.initial_prices
    again.close()


def test_resting_limits_that_together_exceed_the_position_limit_deny_the_crossing_one(tmp_path):
    book = make_book(tmp_path, strategy={"enabled": False}, risk={"max_position_qty": 1_000})
    below = round(book.marks["MSFT"] * 0.97, 2)
    states = [book.submit_order(Order(f"rest-{k}", "MSFT", "buy", 300, "limit", limit_price=below, tif="gtc"))
              for k in range(4)]
    assert [s.status for s in states[:3]] == [OrderStatus.ACCEPTED] * 3
    assert states[3].status is OrderStatus.DENIED
    assert "worst-case position would be 1200" in states[3].reason and "working +900" in states[3].reason
    assert book.oms.working_qty("MSFT") == (900, 0)
    sell = book.submit_order(Order("flat-sell", "MSFT", "sell", 300))   # the other side still passes
    assert sell.status is OrderStatus.FILLED
    book.cancel_order("rest-0")
    assert book.submit_order(Order("rest-4", "MSFT", "buy", 300, "limit", limit_price=below,
                                   tif="gtc")).status is OrderStatus.ACCEPTED
    book.close()


def test_denial_reason_for_absurd_limit_price_is_short(tmp_path):
    book = make_book(tmp_path, strategy={"enabled": False})
    st = book.submit_order(Order("typo", "AAPL", "buy", 1, "limit", limit_price=1e308))
    assert st.status is OrderStatus.DENIED
    assert st.reason == "notional 1e+308 > max_order_notional 2000000.00"
    book.close()


@pytest.mark.parametrize("speed", [60])
def test_make_live_defaults_trade_within_seconds(start_book, tmp_path, speed):
    # Default windows (slow = 20 one-minute bars): without the warm-up the first order would take
    # 20 simulated minutes, 20 s of wall time at 60x; with it, the first bar (1 s) is enough.
    book = start_book(tmp_path, speed=speed)

    def mac_orders():
        return [o for o in book.get("/api/v1/orders").json()["orders"] if o["strategy_id"] == "mac"]

    orders = eventually(mac_orders, timeout=10, message="strategy orders within 10 s at 60x")
    assert orders[0]["status"] in ("filled", "submitted", "accepted", "partially_filled")
    pos = book.get("/api/v1/positions").json()
    assert math.isfinite(pos["equity"])
