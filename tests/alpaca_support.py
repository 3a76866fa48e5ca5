"""Helpers for the Alpaca adapter tests: a fake venue, fast settings, a journaled OMS and a broker.

Every scenario runs inside `run(coro)`, which bounds it with a timeout, so a hung socket fails the
test instead of hanging the suite. Waits poll a condition (`until`), never sleep a fixed time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ultimate_nb.core.clock import LiveClock
from ultimate_nb.core.events import Instrument, Order, OrderSubmitted
from ultimate_nb.core.store import Journal, make_engine
from ultimate_nb.execution.alpaca import AlpacaBroker, AlpacaSettings
from ultimate_nb.execution.alpaca_fake import FakeAlpaca
from ultimate_nb.execution.oms import OMS

INSTRUMENTS = {s: Instrument.equity(s) for s in ("AAPL", "MSFT")}


def run(coro, timeout: float = 20.0) -> Any:
    "Run `coro` on a fresh event loop, failing after `timeout` seconds."
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(condition: Callable[[], Any], timeout: float = 5.0, message: str = "") -> Any:
    "Return the first truthy `condition()`, polling on the loop; raise AssertionError after `timeout` s."
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout}s: {message or condition}")
        await asyncio.sleep(0.01)


def fast_settings(fake: FakeAlpaca, **kw) -> AlpacaSettings:
    "Settings pointing at `fake`, with waits short enough for tests (the client's own retries off)."
    base = dict(api_key="test-key", secret_key="test-secret", trading_url=fake.base_url,
                trading_stream_url=fake.stream_url, data_url=fake.base_url, data_stream_url=fake.data_stream_url,
                client_retry_attempts=0, retry_attempts=6, retry_base_delay_s=0.01, retry_max_delay_s=0.05,
                breaker_failures=20, breaker_reset_s=0.2, stream_backoff_min_s=0.05, stream_backoff_max_s=0.2,
                http_timeout_s=5.0)
    return AlpacaSettings(**{**base, **kw})


def make_oms(path: Path) -> OMS:
    "Return an OMS over the SQLite journal at `path`, recovered from whatever it holds."
    oms = OMS(Journal(make_engine(f"sqlite:///{path}")), LiveClock(), INSTRUMENTS, 100_000.0)
    oms.recover()
    oms.open()
    return oms


def send(oms: OMS, broker: AlpacaBroker, order: Order) -> None:
    "Register, journal as submitted and send `order`, as `TradingSystem.submit_order` does."
    oms.new_order(order)
    now = oms.clock.timestamp_ns()
    oms.apply(OrderSubmitted(order.client_order_id, now, now))
    broker.submit(order)


async def connected(broker: AlpacaBroker, n: int = 1) -> None:
    "Wait until the trade_updates stream has connected `n` times."
    await until(lambda: broker.stats["stream_connects"] >= n, message=f"stream connect #{n}")
    await broker.drain()


def venue(fake: FakeAlpaca, fn: Callable, *args, **kw):
    "Drive the fake from the test (it blocks on the fake's own loop, so run it off ours)."
    return asyncio.to_thread(fn, *args, **kw)


def subscribed(fake: FakeAlpaca, *symbols: str) -> bool:
    """Whether a data stream of `fake` has subscribed to the quotes of all `symbols`: alpaca-py reports
    the stream connected before its subscribe message arrives, and the venue drops quotes sent before."""
    try:
        subs = [s["quotes"] for s in list(fake._data_subs.values())]   # the fake's loop may change it meanwhile
    except RuntimeError:
        return False
    return any(set(symbols) <= q for q in subs)


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    "A started fake Alpaca on a free port, stopped at teardown."
    with FakeAlpaca(symbols=("AAPL", "MSFT")) as f:
        yield f
