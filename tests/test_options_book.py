"""Options in the book: option orders over REST, marks off the chain, settlement at the cut-off, restarts across it.

An in-process book on a SimClock (SPY only, one quote every five minutes, its chain listed) with
the options desk added, on Friday 2 January 2026, a day with a listed expiry.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order, OptionAssigned, OptionExercised, OptionExpired
from ultimate_nb.data.chain import expiry_ns
from ultimate_nb.live import api
from ultimate_nb.live.options import OptionsDesk, OptionsSettings, option_positions
from ultimate_nb.live.system import TradingSystem

TOKEN = "o" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = int(datetime(2026, 1, 2, 14, 0, tzinfo=timezone.utc).timestamp()) * 10**9      # 9:00 New York
CUTOFF = expiry_ns(datetime(2026, 1, 2).date())                                         # 16:00 New York
STEP = 300 * 10**9                                                                      # tick_ms below
PUT, CALL = "SPY   260102P00517000", "SPY   260102C00521000"                          # today's strangle


def settings(var, **options):
    return load_settings(overrides={
        "store": {"var_dir": str(var)}, "strategy": {"enabled": False},
        "market": {"symbols": ["SPY"], "initial_prices": [520.0], "vols": [0.16], "chains": ["SPY"],
                   "tick_ms": STEP // 10**6, "trade_rate": 0.0}}, env_file=None), OptionsSettings(enabled=True, **options)


def book(var, start_ns=START, **options):
    s, o = settings(var, **options)
    system = TradingSystem(s, clock=SimClock(start_ns=start_ns))
    desk = system.add_desk("options", OptionsDesk.from_settings(system, o))
    return system, desk


def sell_strangle(system, n=5):
    for sym in (PUT, CALL):
        st = system.submit_order(Order(f"s-{sym[-9:]}", system.resolve_instrument(sym).symbol, "sell", n,
                                       strategy_id="strangle", ts_init=system.now_ns()))
        assert st.status.value == "filled", st


def run_until(system, ts_ns):
    while system.clock.timestamp_ns() < ts_ns:
        system.run_simulated(1)


def test_option_orders_over_rest_list_contracts_and_move_with_the_underlying(tmp_path):
    system, desk = book(tmp_path)
    system.run_simulated(6)
    client = TestClient(api.create_rest_app(system, TOKEN))
    buy = client.post("/api/v1/orders", json={"symbol": "SPY260116C00520000", "side": "buy", "qty": 2}, headers=AUTH)
    sell = client.post("/api/v1/orders", json={"symbol": "SPY   260116P00500000", "side": "sell", "qty": 3},
                       headers=AUTH)
    assert buy.status_code == 201 and buy.json()["status"] == "filled", buy.json()
    assert sell.status_code == 201 and sell.json()["status"] == "filled", sell.json()
    call, put = "SPY   260116C00520000", "SPY   260116P00500000"
    assert buy.json()["symbol"] == call and call in system.instruments and put in system.risk.instruments
    # the multiplier is in the cash: 100 shares a contract
    cash = 1_000_000 - 2 * 100 * buy.json()["avg_fill_price"] + 3 * 100 * sell.json()["avg_fill_price"] \
        - buy.json()["fees"] - sell.json()["fees"]
    assert system.oms.account.cash == pytest.approx(cash, abs=1e-6)
    held = {p.instrument.symbol: p for p in option_positions(system)}
    assert {s: p.qty for s, p in held.items()} == {call: 2, put: -3}
    assert held[call].underlying_mark == system.marks["SPY"]

    before = (system.marks["SPY"], system.marks[call], system.marks[put])
    system.run_simulated(24)                                         # two hours
    after = (system.marks["SPY"], system.marks[call], system.marks[put])
    assert after[0] != before[0]
    assert (after[1] - before[1]) * (after[0] - before[0]) > 0      # the call follows the underlying
    assert (after[2] - before[2]) * (after[0] - before[0]) < 0      # the put against it

    r = client.get("/api/v1/options/positions", headers=AUTH)
    assert r.status_code == 200
    rows = {p["symbol"]: p for p in r.json()["positions"]}
    assert 0 < rows[call]["delta"] < 1 and -1 < rows[put]["delta"] < 0 and rows[call]["gamma"] > 0
    assert rows[call]["position_delta"] == pytest.approx(200 * rows[call]["delta"])
    ex = r.json()["explain"]["totals"]
    assert ex["pnl"] == pytest.approx(sum(ex[k] for k in ("delta", "gamma", "vega", "theta", "residual")))
    assert client.get("/api/v1/options/positions").status_code == 401
    system.close()


@pytest.mark.parametrize("symbol, field", [
    ("SPY   251219C00520000", "expiry"),            # expired before the book's today
    ("SPY   260116C00000000", "strike"),
    ("QQQ   260116C00400000", "underlying"),        # no chain
    ("SPY 520 CALL", "symbol"),                      # neither a ticker nor an OCC symbol
])
def test_bad_option_symbols_get_a_422_naming_the_field(tmp_path, symbol, field):
    system, _ = book(tmp_path)
    system.run_simulated(2)
    client = TestClient(api.create_rest_app(system, TOKEN))
    r = client.post("/api/v1/orders", json={"symbol": symbol, "side": "buy", "qty": 1}, headers=AUTH)
    assert r.status_code == 422 and field in r.json()["detail"], r.json()
    assert len(system.oms.orders) == 0 and symbol.replace(" ", "") not in {s.replace(" ", "") for s in system.instruments}
    system.close()


def check_settled(system, desk, n=5):
    "The strangle's legs are assigned or expired by the spot before the cut-off; shares delivered at the strike."
    evs = {e.instrument_id: e for e in desk.settlements}
    assert set(evs) == {PUT, CALL}
    spot = evs[PUT].underlying_price
    assert evs[CALL].underlying_price == spot
    assert isinstance(evs[PUT], OptionAssigned if spot < 517 else OptionExpired)
    assert isinstance(evs[CALL], OptionAssigned if spot > 521 else OptionExpired)
    shares = sum(e.shares for e in evs.values())
    assert shares == (100 * n if spot < 517 else 0) - (100 * n if spot > 521 else 0)
    assert system.position("SPY") == shares and system.position(PUT) == system.position(CALL) == 0
    assert system.oms.strategy_position("strangle", "SPY") == shares
    return evs


def test_short_strangle_held_to_expiry_is_assigned_or_expires(tmp_path):
    system, desk = book(tmp_path)
    system.run_simulated(2)
    sell_strangle(system)
    cash = system.oms.account.cash
    run_until(system, CUTOFF - STEP)
    assert desk.settlements == [] and system.position(PUT) == -5
    system.run_simulated(1)                                           # the quote stamped 16:00 is the close
    assert system.clock.timestamp_ns() == CUTOFF
    close = system.marks["SPY"]
    system.run_simulated(3)
    evs = check_settled(system, desk)
    assert evs[PUT].underlying_price == close != system.marks["SPY"]   # the last price at or before the cut-off
    assert all(e.ts_event >= CUTOFF for e in evs.values())
    assert system.oms.account.cash == pytest.approx(cash - sum(e.shares * e.strike for e in evs.values()), abs=1e-6)
    assert PUT not in system.broker.quotes and PUT not in system.marks
    denied = system.submit_order(Order("late", PUT, "buy", 1, ts_init=system.now_ns()))
    assert denied.status.value in ("rejected", "denied")             # nothing trades in a dead contract
    system.close()


def test_cash_settled_underlying_pays_the_intrinsic_value(tmp_path):
    system, desk = book(tmp_path, cash_settled=["SPY"])
    system.run_simulated(2)
    sell_strangle(system, n=1)
    cash = system.oms.account.cash
    run_until(system, CUTOFF + STEP)
    evs = {e.instrument_id: e for e in desk.settlements}
    assert set(evs) == {PUT, CALL} and system.position("SPY") == 0
    paid = sum(-e.qty * 100 * e.intrinsic for e in evs.values())
    assert system.oms.account.cash == pytest.approx(cash - paid, abs=1e-6)
    system.close()


def test_restart_across_expiry_settles_exactly_once(tmp_path):
    a, _ = book(tmp_path)
    a.run_simulated(2)
    sell_strangle(a)
    run_until(a, CUTOFF - 2 * STEP)
    before = a.oms.account
    a.close()                                                         # clean stop: snapshot taken

    b, desk_b = book(tmp_path, start_ns=a.clock.timestamp_ns())       # restarts before the cut-off
    assert b.oms.account == before and b.instruments[PUT].multiplier == 100.0
    run_until(b, CUTOFF + 2 * STEP)
    check_settled(b, desk_b)
    settled = b.oms.account
    # a crash now (no close, no snapshot of the settlement): the journal replays it, nothing twice
    c, desk_c = book(tmp_path, start_ns=b.clock.timestamp_ns())
    assert c.oms.account == settled
    c.run_simulated(4)
    assert desk_c.settlements == [] and c.oms.account.cash == settled.cash
    assert desk_c.process_expiries() == []
    c.close()
    b.close()
    d, desk_d = book(tmp_path, start_ns=c.clock.timestamp_ns())      # and from the snapshot at close
    assert d.oms.snapshot_seq > 0 and d.oms.account == settled
    d.run_simulated(2)
    assert desk_d.settlements == []
    d.close()


def test_book_down_across_the_cutoff_settles_at_restart(tmp_path):
    a, _ = book(tmp_path)
    a.run_simulated(2)
    sell_strangle(a)
    a.close()
    b, desk = book(tmp_path, start_ns=CUTOFF + 3600 * 10**9)         # back an hour after the cut-off
    assert b.position(PUT) == -5
    b.run_simulated(1)
    check_settled(b, desk)
    b.close()


def test_deep_in_the_money_long_put_is_exercised_early(tmp_path):
    system, desk = book(tmp_path)
    system.run_simulated(2)
    st = system.submit_order(Order("p-1", system.resolve_instrument("SPY260116P00600000").symbol, "buy", 1,
                                   ts_init=system.now_ns()))
    assert st.status.value == "filled"
    system.run_simulated(2)
    (ev,) = desk.settlements
    assert isinstance(ev, OptionExercised) and ev.reason == "early" and ev.shares == -100
    assert system.position("SPY") == -100 and system.position("SPY   260116P00600000") == 0
    system.close()
