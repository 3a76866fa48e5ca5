"""A whole book on the L2 multi-venue order-book simulator (market.feed = "book:..."): the paper
broker matches level by level against the simulated books, the strategy trades on the bars the
feed builds, and a restart resumes the market from the journaled mids."""

from __future__ import annotations

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order, OrderFilled
from ultimate_nb.data.book import BookFeed
from ultimate_nb.live.system import TradingSystem

START = 1_767_275_400_000_000_000      # 2026-01-01 14:30 UTC


def book_settings(var_dir):
    return load_settings(overrides={
        "store": {"var_dir": str(var_dir)},
        "market": {"feed": "book:AAPL,MSFT", "symbols": ["AAPL", "MSFT"], "initial_prices": [190.0, 410.0],
                   "vols": [0.28, 0.25]},
    }, env_file=None)


def test_book_feed_drives_the_loop_and_orders_take_liquidity_from_the_simulated_books(tmp_path):
    book = TradingSystem(book_settings(tmp_path / "var"), clock=SimClock(start_ns=START))
    assert isinstance(book.feed, BookFeed) and book.broker.liquidity_taker is not None
    ask0 = book.feed.last_quote("AAPL").ask
    displayed = book.feed.last_quote("AAPL").ask_size
    big = min(int(4 * displayed), 10_000)                      # max_order_qty
    book.submit_order(Order("big-1", "AAPL", "buy", big, ts_init=book.now_ns()))
    book.run_simulated(10)                                      # the venues' order latency passes
    state = book.oms.order("big-1")
    assert state.status.value == "filled" and state.filled_qty == big
    fills = [e for e in book.journal.events(stream="orders") if isinstance(e, OrderFilled)
             and e.client_order_id == "big-1"]
    assert len({f.price for f in fills}) >= 2                  # walked several levels
    assert max(f.price for f in fills) > ask0
    book.run_simulated(90 * 1000 // 100)                        # 90 simulated s of 100 ms steps
    strategy_orders = [s for s in book.oms.orders.values() if s.order.strategy_id == "mac"]
    assert strategy_orders                                      # warmed up, traded on the first bar
    for sym in ("AAPL", "MSFT"):                                # positions = sum of fills
        net = sum(int(f.side) * f.qty for f in book.journal.events(stream="orders")
                  if isinstance(f, OrderFilled) and f.instrument_id == sym)
        assert book.position(sym) == net
    mids = dict(zip(book.feed.symbols, book.feed.mids))
    book.close()
    again = TradingSystem(book_settings(tmp_path / "var"), clock=SimClock(start_ns=book.clock.timestamp_ns()))
    for sym in ("AAPL", "MSFT"):
        assert abs(again.marks[sym] - mids[sym]) <= 0.02, (sym, again.marks[sym], mids[sym])
    assert again.oms.account == book.oms.account
    again.close()
