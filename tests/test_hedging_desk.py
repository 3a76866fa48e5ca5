"The hedging desk in the book: hedges journaled with their reason, sent through pre-trade risk or the algo desk, shown over REST."
from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Instrument, OrderStatus
from ultimate_nb.core.config import HedgingSettings
from ultimate_nb.live.hedging import STREAM, HedgingDesk
from ultimate_nb.live import api
from ultimate_nb.live.system import TradingSystem

TOKEN = "t" * 32
START_NS = 1_767_275_400_000_000_000          # 2026-01-01 13:50 UTC
CALL = Instrument.option("SPY", 100.0, date(2026, 3, 20), "call")


def make_book(tmp_path, **risk):
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False},
                                 "risk": risk}, env_file=None)
    return TradingSystem(s, clock=SimClock(start_ns=START_NS))


def short_calls(n=-20):
    return lambda system: [(CALL, n)]


def journal(book, type_=None):
    return [e for e in book.journal.read(stream=STREAM) if type_ is None or e.type == type_]


def test_delta_hedge_is_journaled_then_sent_through_pretrade(tmp_path):
    book = make_book(tmp_path)
    desk = book.add_desk("hedging", HedgingDesk(book, HedgingSettings(rebalance="time"), positions=short_calls()))
    rec, = desk.check()
    assert rec["action"] == "hedge" and rec["reason"].startswith("time: first hedge")
    (inst, qty), = rec["orders"]
    assert inst == "SPY" and qty > 0                             # short calls: buy shares
    decided, sent = journal(book, "HedgeDecided"), journal(book, "HedgeSent")
    assert len(decided) == 1 and decided[0].seq < sent[0].seq    # write-ahead
    state = book.oms.order(sent[0].payload["id"])
    assert state.order.strategy_id == "hedging" and state.status is not OrderStatus.DENIED
    assert desk.check()[0]["action"] == "hold"                  # the timer has not run out
    book.close()


def test_denied_hedge_is_journaled_with_the_risk_reason(tmp_path):
    book = make_book(tmp_path, max_order_qty=1)
    desk = book.add_desk("hedging", HedgingDesk(book, HedgingSettings(rebalance="time"), positions=short_calls()))
    rec, = desk.check()
    out, = rec["sent"]
    assert out["status"] == "denied" and out["reason"]
    assert journal(book, "HedgeSent")[0].payload["status"] == "denied" and desk.counts["denied"] == 1
    book.close()


def test_bad_positions_are_journaled_and_the_desk_goes_on(tmp_path):
    book = make_book(tmp_path)
    calls = iter([ValueError("positions unavailable"), [(CALL, -20)]])

    def positions(system):
        v = next(calls)
        if isinstance(v, Exception):
            raise v
        return v
    desk = book.add_desk("hedging", HedgingDesk(book, HedgingSettings(rebalance="time"), positions=positions))
    assert desk.check()[0]["action"] == "error" and desk.dropped["ValueError"] == 1
    assert journal(book, "HedgeFailed")[0].payload["reason"].startswith("ValueError")
    assert desk.check()[0]["action"] == "hedge"
    book.close()


def test_vega_hedge_with_a_zero_vega_option_fails_naming_the_hedge_ratio(tmp_path):
    book = make_book(tmp_path)
    expired = Instrument.option("SPY", 100.0, date(2025, 12, 19), "call")
    book.instruments[expired.symbol] = expired          # what TradingSystem.add_instrument will do
    cfg = HedgingSettings(targets="delta_vega", rebalance="time", hedge_options={"SPY": expired.symbol})
    desk = book.add_desk("hedging", HedgingDesk(book, cfg, positions=short_calls()))
    rec, = desk.check()
    assert rec["action"] == "error" and "hedge ratio for 'vega'" in rec["reason"]
    assert not journal(book, "HedgeSent")                # nothing went out
    book.close()


def test_algo_route_creates_a_parent_and_holds_while_it_works(tmp_path):
    book = make_book(tmp_path)
    desk = book.add_desk("hedging", HedgingDesk(book, HedgingSettings(rebalance="move", route="algo"),
                                                positions=short_calls()))
    rec, = desk.check()
    out, = rec["sent"]
    assert out["id"] in book.desks["algos"].parents
    book.marks["SPY"] *= 1.05                            # a move, but the parent still works
    assert desk.check()[0]["reason"].startswith("hold: a hedge of SPY is still working")
    book.close()


def test_desk_checks_on_marks_and_serves_its_decisions(tmp_path):
    book = make_book(tmp_path)
    cfg = HedgingSettings(rebalance="time", interval_s=60, check_s=1)
    desk = book.add_desk("hedging", HedgingDesk(book, cfg, positions=short_calls()))
    book.run_simulated(30)
    assert desk.counts["hedge"] >= 1 and sum(desk.counts.values()) >= 2
    client = TestClient(api.create_rest_app(book, TOKEN))
    assert client.get("/api/v1/hedging").status_code == 401
    r = client.get("/api/v1/hedging", params={"limit": 5}, headers={"Authorization": f"Bearer {TOKEN}"})
    body = r.json()
    assert r.status_code == 200 and 1 <= len(body["decisions"]) <= 5 and body["policy"]["rebalance"] == "time"
    assert all(d["reason"] for d in body["decisions"])
    book.close()


def test_settings_refuse_a_hedge_option_outside_the_book(tmp_path):
    book = make_book(tmp_path)
    with pytest.raises(ValueError, match="hedge_options"):
        HedgingDesk(book, HedgingSettings(targets="delta_gamma", rebalance="time", hedge_options={"SPY": "NOPE"}))
    assert HedgingDesk.from_settings(book, HedgingSettings()) is None
    book.close()
