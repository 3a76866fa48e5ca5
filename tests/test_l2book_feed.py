"""The book simulator feeds a bus like `MarketSimulator`, and the paper broker trades on its books."""

from __future__ import annotations

import asyncio

import numpy as np

from ultimate_nb.core.bus import MessageBus
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import BrokerSettings
from ultimate_nb.core.events import BookSnapshot, Liquidity, Order, OrderFilled, Quote, Trade
from ultimate_nb.data.book import BookSimulator, split_venue_id
from ultimate_nb.execution.paper import PaperBroker


def stub_feed(seed: int = 3) -> BookSimulator:
    return BookSimulator("AAPL", start_ns=1_000_000_000, initial_price=190.0, rng=np.random.default_rng(seed))


def test_run_publishes_snapshots_nbbo_and_trades_through_the_bus():
    sim, seen = stub_feed(), []
    bus = MessageBus("book")
    bus.subscribe("*", seen.append, name="all")
    sim.step()                                               # load the compiled kernels outside the timed run
    n = asyncio.run(sim.run(bus.publish, speed=0, duration_s=1.0))
    assert n > 0
    kinds = {type(e) for e in seen}
    assert {BookSnapshot, Quote, Trade} <= kinds
    venues = {split_venue_id(e.instrument_id)[1] for e in seen if isinstance(e, BookSnapshot)}
    assert venues == {v.name for v in sim.venues}


def test_paper_broker_in_book_mode_fills_resting_orders_from_the_simulated_flow():
    sim = stub_feed(5)
    clock = SimClock(start_ns=sim.now_ns)
    fills: list[OrderFilled] = []
    broker = PaperBroker(BrokerSettings(), sim.instruments, clock,
                         lambda e: fills.append(e) if isinstance(e, OrderFilled) else None, venues=sim.venues)
    for e in sim.step():
        broker.on_book(e) if isinstance(e, BookSnapshot) else None
    bid = sim.nbbo().bid
    broker.submit(Order("rest", "AAPL", "buy", 100, "limit", limit_price=bid, tif="gtc"), venue="XNAS")
    broker.submit(Order("take", "AAPL", "sell", 300))
    for _ in range(3_000):                                   # 300 simulated seconds
        for e in sim.step(ts_init=None):
            clock.set_time(max(clock.timestamp_ns(), e.ts_init))
            if isinstance(e, BookSnapshot):
                broker.on_book(e)
            elif isinstance(e, Trade):
                broker.on_trade(e)
        if "rest" not in broker.working:
            break
    take = [f for f in fills if f.client_order_id == "take"]
    assert sum(f.qty for f in take) == 300 and all(f.liquidity is Liquidity.TAKER for f in take)
    rest = [f for f in fills if f.client_order_id == "rest"]
    assert rest and all(f.liquidity is Liquidity.MAKER and f.price == bid for f in rest)
    assert all(broker.fill_venues[f.fill_id] == "XNAS" for f in rest)
