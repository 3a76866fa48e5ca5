"""The Alpaca adapter against the fake venue: orders through the OMS, faults, and the stream."""

from __future__ import annotations

import time

from alpaca_support import AlpacaBroker, connected, fake, fast_settings, make_oms, run, send, until, venue  # noqa: F401

from ultimate_nb.core.events import Order, OrderStatus
from ultimate_nb.core.resilience import BreakerState


def _book(fake, tmp_path, **kw):
    oms = make_oms(tmp_path / "journal.db")
    return oms, AlpacaBroker(fast_settings(fake, **kw), oms.instruments, oms.clock, oms.apply)


def test_market_order_is_accepted_partially_then_fully_filled_through_the_oms(fake, tmp_path):
    async def scenario():
        oms, broker = _book(fake, tmp_path)
        await broker.start()
        await connected(broker)
        await venue(fake, fake.set_price, "AAPL", 190.00, size=40)      # 40 shares available now
        send(oms, broker, Order("mkt-1", "AAPL", "buy", 100))
        await until(lambda: oms.order("mkt-1").status is OrderStatus.PARTIALLY_FILLED)
        assert oms.order("mkt-1").filled_qty == 40 and oms.order("mkt-1").venue_order_id
        await venue(fake, fake.fill, "mkt-1", 60, 190.50)
        await until(lambda: oms.order("mkt-1").status is OrderStatus.FILLED)
        await broker.stop()
        return oms
    oms = run(scenario())
    s = oms.order("mkt-1")
    assert s.filled_qty == 100 and abs(s.avg_fill_price - 190.30) < 1e-9     # (40*190 + 60*190.5) / 100
    assert s.fill_ids == {e["execution_id"] for e in fake.executions}          # the venue's execution ids
    assert oms.position("AAPL").qty == fake.positions["AAPL"].qty == 100
    assert oms.halted is None


def test_limit_order_is_canceled_at_the_venue(fake, tmp_path):
    async def scenario():
        oms, broker = _book(fake, tmp_path)
        await broker.start()
        await connected(broker)
        await venue(fake, fake.set_price, "AAPL", 190.00)
        send(oms, broker, Order("lim-1", "AAPL", "buy", 100, "limit", limit_price=180.0, tif="gtc"))
        await until(lambda: oms.order("lim-1").status is OrderStatus.ACCEPTED)
        assert broker.cancel("lim-1") is True
        await until(lambda: oms.order("lim-1").status is OrderStatus.CANCELED)
        assert broker.cancel("lim-1") is False and broker.cancel("nope") is False
        await broker.stop()
        return oms
    oms = run(scenario())
    assert fake.order("lim-1")["status"] == "canceled" and oms.position("AAPL").qty == 0


def test_refused_order_is_rejected_and_a_late_venue_reject_cancels(fake, tmp_path):
    async def scenario():
        oms, broker = _book(fake, tmp_path)
        await broker.start()
        await connected(broker)
        await venue(fake, fake.set_price, "AAPL", 190.00)
        send(oms, broker, Order("big-1", "AAPL", "buy", 10_000))      # 1.9 M USD > 100 k buying power
        send(oms, broker, Order("lim-2", "AAPL", "buy", 10, "limit", limit_price=150.0))
        await until(lambda: oms.order("big-1").status.is_terminal
                    and oms.order("lim-2").status is OrderStatus.ACCEPTED)
        await venue(fake, fake.end_order, "lim-2", "rejected")          # the exchange refuses it later
        await until(lambda: oms.order("lim-2").status.is_terminal)
        await broker.stop()
        return oms
    oms = run(scenario())
    assert oms.order("big-1").status is OrderStatus.REJECTED
    assert "insufficient buying power" in oms.order("big-1").reason
    assert oms.order("lim-2").status is OrderStatus.CANCELED        # REJECTED is illegal after ACCEPTED
    assert "rejected" in oms.order("lim-2").reason and oms.halted is None


def test_dropped_stream_reconnects_and_fills_made_meanwhile_arrive_once(fake, tmp_path):
    async def scenario():
        oms, broker = _book(fake, tmp_path)
        await broker.start()
        await connected(broker)
        send(oms, broker, Order("lim-3", "AAPL", "buy", 100, "limit", limit_price=190.0, tif="gtc"))
        await until(lambda: oms.order("lim-3").status is OrderStatus.ACCEPTED)
        fake.refuse_streams = True
        await venue(fake, fake.drop_streams)
        await until(lambda: broker.stream_state == "down")
        await venue(fake, fake.fill, "lim-3", 30, 189.90)             # nobody listens: lost on the stream
        await venue(fake, fake.fill, "lim-3", 20, 189.95)
        assert oms.order("lim-3").filled_qty == 0
        fake.refuse_streams = False
        await connected(broker, 2)                                      # reconnect, then resync over REST
        await until(lambda: oms.order("lim-3").filled_qty == 50)
        await venue(fake, fake.fill, "lim-3", 50, 190.00)               # live again
        await until(lambda: oms.order("lim-3").status is OrderStatus.FILLED)
        await broker.resync()                                           # a second resync adds nothing
        await broker.stop()
        return oms, broker
    oms, broker = run(scenario())
    s = oms.order("lim-3")
    assert s.filled_qty == 100 and len(s.fill_ids) == 2                 # one inferred (50), one live (50)
    assert abs(s.avg_fill_price * 100 - (30 * 189.90 + 20 * 189.95 + 50 * 190.00)) < 1e-6
    assert broker.stats["inferred_fills"] == 1 and broker.stats["stream_drops"] >= 1
    assert oms.position("AAPL").qty == fake.positions["AAPL"].qty == 100
    assert abs(oms.position("AAPL").avg_price - fake.positions["AAPL"].avg_entry_price) < 1e-6


def test_429_storm_is_ridden_out_with_backoff_quickly(fake, tmp_path):
    async def scenario():
        oms, broker = _book(fake, tmp_path)
        await broker.start()
        await connected(broker)
        await venue(fake, fake.set_price, "AAPL", 190.00)
        await venue(fake, fake.inject, 429, 4, method="POST", path="/v2/orders")
        t0 = time.monotonic()
        send(oms, broker, Order("storm-1", "AAPL", "buy", 10))
        await until(lambda: oms.order("storm-1").status is OrderStatus.FILLED)
        took = time.monotonic() - t0
        await broker.stop()
        return broker, took
    broker, took = run(scenario())
    assert fake.requests[("POST", "/v2/orders", 429)] == 4 and fake.requests[("POST", "/v2/orders", 200)] == 1
    assert broker.stats["retries_429"] == 4
    assert took < 3.0            # alpaca-py's own 3 s x 3 waits are off (client_retry_attempts=0)


def test_booked_order_answered_504_is_found_by_client_order_id_not_sent_twice(fake, tmp_path):
    async def scenario():
        oms, broker = _book(fake, tmp_path)
        await broker.start()
        await connected(broker)
        await venue(fake, fake.set_price, "AAPL", 190.00)
        await venue(fake, fake.inject, 504, 1, method="POST", path="/v2/orders", after=True)
        send(oms, broker, Order("lost-1", "AAPL", "buy", 10))
        await until(lambda: oms.order("lost-1").status is OrderStatus.FILLED)
        await broker.drain()
        await broker.stop()
        return oms, broker
    oms, broker = run(scenario())
    assert fake.requests[("POST", "/v2/orders", 422)] == 1          # the retry met 40010001
    assert broker.stats["duplicate_coid"] == 1
    assert len(fake.orders) == 1 and oms.position("AAPL").qty == 10


def test_long_outage_opens_the_breaker_and_the_order_is_settled_by_resync(fake, tmp_path):
    async def scenario():
        oms, broker = _book(fake, tmp_path, retry_attempts=3, breaker_failures=3)
        await broker.start()
        await connected(broker)
        fault = await venue(fake, fake.inject, 503, 1_000, path="/v2/orders")
        send(oms, broker, Order("out-1", "AAPL", "buy", 10))
        await broker.drain()
        assert broker.breaker.state is BreakerState.OPEN
        assert oms.order("out-1").status is OrderStatus.SUBMITTED       # unknown outcome: left open
        fault.count = 0                                                 # the venue recovers
        await until(lambda: broker.breaker.state is not BreakerState.OPEN)
        await broker.resync()
        await broker.stop()
        return oms, broker
    oms, broker = run(scenario())
    assert broker.stats["in_doubt"] == 1
    assert oms.order("out-1").status is OrderStatus.REJECTED and "not booked" in oms.order("out-1").reason
    assert oms.halted is None


def test_cancel_sent_while_the_post_is_retrying_waits_for_it(fake, tmp_path):
    async def scenario():
        oms, broker = _book(fake, tmp_path)
        await broker.start()
        await connected(broker)
        await venue(fake, fake.inject, 429, 3, method="POST", path="/v2/orders")   # the POST takes a while
        send(oms, broker, Order("race-1", "AAPL", "buy", 10, "limit", limit_price=100.0))
        assert broker.cancel("race-1") is True                          # before the venue has booked it
        await until(lambda: oms.order("race-1").status.is_terminal)
        await broker.drain()
        await broker.stop()
        return oms
    oms = run(scenario())
    assert oms.order("race-1").status is OrderStatus.CANCELED           # not "rejected: not booked"
    assert fake.order("race-1")["status"] == "canceled"                 # and nothing left working there
