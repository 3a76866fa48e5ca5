"""Restart against the fake Alpaca: reconciliation applies what we missed exactly once, and says what it found."""

from __future__ import annotations

from alpaca_support import AlpacaBroker, connected, fake, fast_settings, make_oms, run, send, until, venue  # noqa: F401

from ultimate_nb.core.events import Order, OrderStatus, OrderSubmitted
from ultimate_nb.execution.alpaca import reconcile


def _broker(fake, oms, **kw):
    return AlpacaBroker(fast_settings(fake, **kw), oms.instruments, oms.clock, oms.apply)


async def _first_session(fake, db):
    "Trade until the crash: A partly filled, B working, C journaled as submitted but never sent."
    oms = make_oms(db)
    broker = _broker(fake, oms)
    await broker.start()
    await connected(broker)
    send(oms, broker, Order("A", "AAPL", "buy", 100, "limit", limit_price=191.0, tif="gtc"))
    send(oms, broker, Order("B", "MSFT", "sell", 50, "limit", limit_price=420.0, tif="day"))
    await until(lambda: oms.order("A").status is OrderStatus.ACCEPTED and oms.order("B").status is OrderStatus.ACCEPTED)
    await venue(fake, fake.fill, "A", 30, 190.00)
    await until(lambda: oms.order("A").filled_qty == 30)
    oms.new_order(Order("C", "AAPL", "buy", 5))
    now = oms.clock.timestamp_ns()
    oms.apply(OrderSubmitted("C", now, now))         # journaled; the process dies before the POST
    await broker.stop()
    oms.journal.close()


def test_restart_applies_fills_missed_while_down_exactly_once(fake, tmp_path):
    db = tmp_path / "journal.db"

    async def scenario():
        await _first_session(fake, db)
        await venue(fake, fake.fill, "A", 50, 190.20)              # while we are down
        await venue(fake, fake.fill, "A", 20, 190.50)
        await venue(fake, fake.fill, "B", 10, 420.00)
        await venue(fake, fake.end_order, "B", "expired")
        oms = make_oms(db)                                           # restart: replay the journal
        broker = _broker(fake, oms)
        first = await reconcile(broker, oms)
        second = await reconcile(broker, oms)
        await broker.start()                                         # its resync on connect adds nothing
        await connected(broker)
        await broker.stop()
        oms.journal.close()
        return first, second, make_oms(db)

    first, second, oms = run(scenario())
    assert first.complete and first.ok and first.positions == []
    assert len(first.fills_applied) == 2                             # A: 70 inferred in one fill; B: 10
    assert ("B", "OrderExpired") in first.terminal and ("C", "OrderRejected") in first.terminal
    assert first.rejected_unbooked == ["C"]
    assert second.fills_applied == [] and second.terminal == [] and second.orders_checked == 0
    a = oms.order("A")                                               # a third process sees the same book
    assert a.status is OrderStatus.FILLED and a.filled_qty == 100
    assert abs(a.avg_fill_price * 100 - (30 * 190.00 + 50 * 190.20 + 20 * 190.50)) < 1e-6
    assert oms.order("B").status is OrderStatus.EXPIRED and oms.order("B").filled_qty == 10
    for sym in ("AAPL", "MSFT"):
        assert oms.position(sym).qty == fake.positions[sym].qty
        assert abs(oms.position(sym).avg_price - fake.positions[sym].avg_entry_price) < 1e-6
    assert abs(oms.account.cash - fake.cash) < 1e-6


def test_position_difference_is_journaled_then_halts_or_is_adopted(fake, tmp_path):
    async def scenario():
        await venue(fake, fake.set_position, "MSFT", 10, 400.0)     # a trade we never saw
        halt_oms = make_oms(tmp_path / "halt.db")
        halted = await reconcile(_broker(fake, halt_oms), halt_oms, policy="halt")
        adopt_oms = make_oms(tmp_path / "adopt.db")
        adopted = await reconcile(_broker(fake, adopt_oms), adopt_oms, policy="adopt_venue")
        return halt_oms, halted, adopt_oms, adopted

    halt_oms, halted, adopt_oms, adopted = run(scenario())
    assert halted.complete and not halted.ok and halt_oms.halted is not None
    assert halted.positions[0]["action"].startswith("halt") and halted.positions[0]["venue_qty"] == 10
    recs = [e for e in halt_oms.journal.read(stream="reconciliation") if e.type == "Reconciliation"]
    assert recs[0].payload["instrument_id"] == "MSFT" and recs[0].payload["oms_qty"] == 0
    assert adopted.ok and adopted.positions[0]["action"] == "adopted" and adopt_oms.halted is None
    p = adopt_oms.position("MSFT")
    assert p.qty == 10 and abs(p.avg_price - 400.0) < 1e-9


def test_position_missing_at_the_venue_is_never_taken_as_flat(fake, tmp_path):
    async def scenario():
        oms = make_oms(tmp_path / "journal.db")
        broker = _broker(fake, oms)
        await broker.start()
        await connected(broker)
        await venue(fake, fake.set_price, "AAPL", 190.0)
        send(oms, broker, Order("D", "AAPL", "buy", 10))
        await until(lambda: oms.order("D").status is OrderStatus.FILLED)
        await broker.stop()
        await venue(fake, fake.set_position, "AAPL", 0, 0.0)        # the venue now lists nothing
        return oms, await reconcile(broker, oms, policy="adopt_venue")

    oms, rep = run(scenario())
    assert rep.positions[0]["action"].startswith("halt: the venue lists no position")
    assert oms.position("AAPL").qty == 10 and oms.halted is not None


def test_orders_unknown_to_us_are_reported_not_applied(fake, tmp_path):
    async def scenario():
        coid = await venue(fake, fake.place, "AAPL", "buy", 5, 100.0)    # placed in the web UI
        oms = make_oms(tmp_path / "journal.db")
        broker = _broker(fake, oms)
        rep = await reconcile(broker, oms)
        await broker.start()
        await connected(broker)
        await venue(fake, fake.fill, coid, 5, 100.0)                    # its fill reaches our stream
        await until(lambda: broker.stats["unknown_orders"] >= 1)
        await broker.stop()
        return coid, oms, rep

    coid, oms, rep = run(scenario())
    assert [o["client_order_id"] for o in rep.unknown_at_venue] == [coid] and not rep.ok
    assert oms.order(coid) is None and oms.halted is None and oms.position("AAPL").qty == 0
