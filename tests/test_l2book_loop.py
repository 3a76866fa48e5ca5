"""The L2 book feed drives a minimal live loop: bus, SimClock, BookFeed, journaled OMS and the paper
broker in book mode with the liquidity hook, wired as `TradingSystem` wires its feed and broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ultimate_nb.core.bus import MessageBus
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import BrokerSettings
from ultimate_nb.core.events import (
    Bar, BookSnapshot, Liquidity, Order, OrderFilled, OrderStatus, OrderSubmitted, Quote, Trade,
)
from ultimate_nb.core.store import Journal, make_engine
from ultimate_nb.data.book import BookFeed, split_venue_id, trade_venue
from ultimate_nb.execution.oms import OMS
from ultimate_nb.execution.paper import PaperBroker

START = 1_767_275_400_000_000_000   # 2026-01-01 14:30 UTC, on a minute boundary
STEPS_PER_MINUTE = 600              # step_ms = 100


class BookLoop:
    "The few components of `TradingSystem` that market data and orders pass through, with the book feed."

    def __init__(self, var_dir: Path, symbols=("AAPL", "MSFT"), prices=(190.0, 410.0), seed: int = 11):
        self.feed = BookFeed(list(symbols), list(prices), start_ns=START, seed=seed)
        self.clock = SimClock(start_ns=START)
        self.bus = MessageBus("book")
        self.journal = Journal(make_engine(var_dir=var_dir))
        self.oms = OMS(self.journal, self.clock, self.feed.instruments, 1_000_000.0, publish=self.bus.publish)
        self.oms.recover()
        self.oms.open()
        self.broker = PaperBroker(BrokerSettings(), self.feed.instruments, self.clock, self.oms.apply,
                                  venues=self.feed.venues, dark=self.feed.dark, liquidity_taker=self.feed.take)
        self.restored = self.broker.restore(self.oms.open_orders())
        for s in self.feed.symbols:                      # the market as it opens
            self.broker.on_quote(self.feed.last_quote(s))
        self.bus.subscribe(BookSnapshot, self.broker.on_book, name="broker.on_book")
        self.bus.subscribe(Trade, self.broker.on_trade, name="broker.on_trade")
        self.bus.subscribe(Quote, self.broker.on_quote, name="broker.on_quote")
        self.events: list = []
        self.bus.subscribe("*", self.events.append, name="recorder")

    def submit(self, order: Order) -> None:
        self.oms.new_order(order)
        now = self.clock.timestamp_ns()
        self.oms.apply(OrderSubmitted(order.client_order_id, now, now))
        self.broker.submit(order)

    def step(self) -> list:
        "One step of `TradingSystem.run_simulated`: move the clock, publish the feed's events."
        events = self.feed.step()
        self.clock.set_time(max(self.clock.timestamp_ns(), self.feed.now_ns))
        for ev in events:
            self.bus.publish(ev)
        return events

    def fills(self, cid: str | None = None) -> list[OrderFilled]:
        return [e for e in self.events if isinstance(e, OrderFilled) and cid in (None, e.client_order_id)]


def test_market_order_through_the_oms_takes_liquidity_out_of_the_simulated_book(tmp_path):
    loop = BookLoop(tmp_path)
    for _ in range(20):
        loop.step()
    q0 = loop.feed.last_quote("AAPL")
    qty = int(10 * q0.ask_size)                          # ten times the size shown at the best ask
    loop.submit(Order("big", "AAPL", "buy", qty, ts_init=loop.clock.timestamp_ns()))
    loop.step()                                          # the order reaches the venue with this step's books
    fills = loop.fills("big")
    assert sum(f.qty for f in fills) == qty and all(f.liquidity is Liquidity.TAKER for f in fills)
    prices = sorted({f.price for f in fills})
    assert len(prices) >= 3 and prices[0] == q0.ask       # walked several levels from the touch
    assert loop.oms.order("big").status is OrderStatus.FILLED
    after = [e for e in loop.step() if isinstance(e, Quote) and e.instrument_id == "AAPL"][-1]
    assert after.ask > q0.ask                             # the next NBBO shows the levels we took are gone
    ts = fills[0].ts_event                                # and our prints are on the tape
    ours = [e for e in loop.events if isinstance(e, Trade) and e.instrument_id == "AAPL" and e.ts_event == ts]
    assert sum(t.size for t in ours) == qty
    assert {(trade_venue(t), t.price) for t in ours} == {(loop.broker.fill_venues[f.fill_id], f.price) for f in fills}
    loop.journal.close()


def test_resting_limit_order_waits_in_its_queue_and_positions_equal_fills(tmp_path):
    loop = BookLoop(tmp_path, seed=5)
    loop.step()
    bid = loop.feed.last_quote("AAPL").bid
    now = loop.clock.timestamp_ns()
    loop.submit(Order("rest", "AAPL", "buy", 300, "limit", limit_price=bid, tif="gtc", ts_init=now))
    loop.submit(Order("take", "MSFT", "sell", 500, ts_init=now))
    loop.step()                                           # both orders arrive at XNAS
    w = loop.broker.working["rest"]
    shown = dict(loop.broker.books["AAPL"]["XNAS"][0]).get(bid, 0.0)
    assert w.arrived and w.ahead == shown > 0             # the back of the displayed XNAS queue
    aheads, steps = [w.ahead], 0
    while "rest" in loop.broker.working and steps < 3 * STEPS_PER_MINUTE:
        n = len(loop.events)
        step_events = loop.step()
        steps += 1
        mine = [e for e in loop.events[n:] if isinstance(e, OrderFilled) and e.client_order_id == "rest"]
        if mine:                                          # a fill needs a print at our venue and price, or a cross
            prints = [t for t in step_events if isinstance(t, Trade) and trade_venue(t) == "XNAS"
                      and t.price == bid and t.aggressor < 0]
            crossed = any(split_venue_id(e.instrument_id)[1] == "XNAS" and e.asks and e.asks[0][0] <= bid
                          for e in step_events if isinstance(e, BookSnapshot))
            assert prints or crossed
        if "rest" in loop.broker.working:
            aheads.append(loop.broker.working["rest"].ahead)
    assert all(b <= a for a, b in zip(aheads, aheads[1:]))   # the queue ahead only shrinks
    rest = loop.fills("rest")
    assert sum(f.qty for f in rest) == 300 and loop.oms.order("rest").status is OrderStatus.FILLED
    assert all(f.liquidity is Liquidity.MAKER and f.price == bid and f.fee == 0.0 for f in rest)
    assert all(loop.broker.rebates[f.fill_id] > 0 for f in rest)
    for sym in loop.feed.symbols:
        assert loop.oms.position(sym).qty == sum(int(f.side) * f.qty for f in loop.fills() if f.instrument_id == sym)
    assert loop.oms.position("MSFT").qty == -500
    loop.journal.close()


def test_bars_close_every_minute_per_symbol_at_the_nbbo_mid(tmp_path):
    loop = BookLoop(tmp_path)
    for _ in range(3 * STEPS_PER_MINUTE):
        loop.step()
    bars = [e for e in loop.events if isinstance(e, Bar)]
    ends = [START + k * 60 * 10**9 for k in (1, 2, 3)]
    assert [(b.ts_event, b.instrument_id) for b in bars] == [(t, s) for t in ends for s in ("AAPL", "MSFT")]
    for b in bars:
        quotes = [e for e in loop.events if isinstance(e, Quote) and e.instrument_id == b.instrument_id
                  and b.ts_event - 60 * 10**9 < e.ts_event <= b.ts_event]
        mids = [e.mid for e in quotes]
        assert abs(b.close - mids[-1]) < 1e-6 and abs(b.open - mids[0]) < 1e-6
        assert abs(b.high - max(mids)) < 1e-6 and abs(b.low - min(mids)) < 1e-6
        volume = sum(e.size for e in loop.events if isinstance(e, Trade) and e.instrument_id == b.instrument_id
                     and b.ts_event - 60 * 10**9 < e.ts_event <= b.ts_event)
        assert b.volume == volume > 0
    ts = [e.ts_init for e in loop.events if not isinstance(e, (OrderFilled,))]
    assert ts == sorted(ts)                               # one stream in time order across symbols
    loop.journal.close()


def test_after_a_restart_open_orders_rejoin_the_queue_and_still_fill(tmp_path):
    loop = BookLoop(tmp_path, seed=5)
    loop.step()
    bid = loop.feed.last_quote("AAPL").bid
    loop.submit(Order("rest", "AAPL", "buy", 300, "limit", limit_price=bid, tif="gtc",
                      ts_init=loop.clock.timestamp_ns()))
    loop.step()
    loop.journal.close()
    again = BookLoop(tmp_path, seed=5)                    # the same journal: the OMS remembers, the venue not
    assert again.restored == 1 and again.oms.order("rest").status is OrderStatus.ACCEPTED
    again.step()
    w = again.broker.working["rest"]
    shown = dict(again.broker.books["AAPL"]["XNAS"][0]).get(bid, 0.0)
    assert w.arrived and w.venue == "XNAS" and w.ahead == shown > 0   # at the back of the queue again
    for _ in range(3 * STEPS_PER_MINUTE):
        if "rest" not in again.broker.working:
            break
        again.step()
    assert again.oms.order("rest").status is OrderStatus.FILLED
    assert again.oms.position("AAPL").qty == 300
    again.journal.close()


def test_run_is_paced_and_never_ahead_of_schedule(tmp_path):
    feed, seen = BookFeed(["AAPL", "MSFT"], start_ns=START, seed=3), []
    feed.step()
    n = asyncio.run(feed.run(seen.append, speed=20.0, duration_s=0.5))
    simulated = (feed.now_ns - START) / 1e9
    assert n > 0 and 0.2 < simulated <= 20.0 * 0.5 + 0.2  # at most speed x wall time, plus one step
    assert not feed.exhausted and not feed.dropped
    assert {type(e) for e in seen} >= {BookSnapshot, Quote, Trade}
