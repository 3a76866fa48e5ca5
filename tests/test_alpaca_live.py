"""A whole book on Alpaca (broker.kind = alpaca, market.feed = alpaca) against the local fake venue:
it reconciles before trading, trades through the OMS, and a restart applies the fills that
happened while it was down, exactly once."""

from __future__ import annotations

import asyncio

from alpaca_support import fake, fast_settings, run, subscribed, until, venue  # noqa: F401

from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order, OrderStatus
from ultimate_nb.live.system import TradingSystem


def alpaca_settings(fake, var_dir):
    return load_settings(overrides={
        "store": {"var_dir": str(var_dir)},
        "broker": {"kind": "alpaca", "alpaca": fast_settings(fake)},
        "market": {"feed": "alpaca", "symbols": ["AAPL", "MSFT"], "initial_prices": [190.0, 420.0],
                   "vols": [0.3, 0.25]},
        "strategy": {"enabled": False},
    }, env_file=None)


async def start(book: TradingSystem, fake) -> tuple[asyncio.Task, asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(book.run(stop=stop))
    await until(lambda: book.broker.stats["stream_connects"] >= 1, timeout=10, message="trade stream up")
    await until(lambda: book.feed.stream_state == "connected", timeout=10, message="data stream up")
    await until(lambda: subscribed(fake, *book.feed.symbols), timeout=10, message="quotes subscribed")
    return task, stop


async def quote(fake, book: TradingSystem, symbol: str, bid: float, ask: float) -> None:
    "Publish a quote on the fake's data stream and wait until the book marks it."
    await venue(fake, fake.publish, "q", symbol, bp=bid, bs=300, ap=ask, **{"as": 300})
    await until(lambda: book.marks.get(symbol) == (bid + ask) / 2, message=f"{symbol} quote reached the book")


async def finish(book: TradingSystem, task: asyncio.Task, stop: asyncio.Event) -> None:
    stop.set()
    await asyncio.wait_for(task, 10)
    book.close()


def test_book_on_alpaca_trades_and_a_restart_applies_missed_fills_once(fake, tmp_path):
    settings = alpaca_settings(fake, tmp_path / "var")

    async def scenario():
        book = TradingSystem(settings)
        task, stop = await start(book, fake)
        assert book.reconciliation is not None and book.reconciliation.ok
        await quote(fake, book, "AAPL", 189.99, 190.01)                  # a mark for pre-trade risk
        await quote(fake, book, "MSFT", 419.9, 420.1)
        await venue(fake, fake.set_price, "AAPL", 190.0)
        book.submit_order(Order("live-1", "AAPL", "buy", 100, ts_init=book.now_ns()))
        book.submit_order(Order("live-2", "MSFT", "buy", 40, "limit", limit_price=400.0, tif="gtc",
                                ts_init=book.now_ns()))
        await until(lambda: book.position("AAPL") == 100, message="market order filled")
        await until(lambda: book.oms.order("live-2").status is OrderStatus.ACCEPTED)
        await finish(book, task, stop)
        await venue(fake, fake.fill, "live-2", 25, 399.5)                # while the book is down
        again = TradingSystem(settings)                                   # restart: journal replay
        task, stop = await start(again, fake)
        rep = again.reconciliation
        await until(lambda: again.position("MSFT") == 25, message="missed fill applied")
        state = {s: (again.position(s), fake.positions[s].qty) for s in ("AAPL", "MSFT")}
        await finish(again, task, stop)
        return rep, state

    rep, state = run(scenario(), timeout=60)
    assert rep.complete and rep.ok and len(rep.fills_applied) == 1
    assert state == {"AAPL": (100, 100), "MSFT": (25, 25)}
