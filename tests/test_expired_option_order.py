"""An order in an option past its cut-off (4:00 pm New York on its expiry date) is denied by pre-trade risk
with code "expired" in a running book, before it reaches the broker; the risk monitor follows the
settlement at the cut-off (its rows are the book's positions again)."""

from __future__ import annotations

from datetime import datetime, timezone

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order
from ultimate_nb.live.risk_monitor import book_positions
from ultimate_nb.live.system import TradingSystem

START = int(datetime(2026, 1, 2, 20, 30, tzinfo=timezone.utc).timestamp()) * 10**9      # 15:30 New York
JAN2 = "SPY   260102C00520000"                                                             # expires today


def test_order_in_an_option_past_its_cut_off_is_denied_expired(tmp_path):
    s = load_settings(overrides={
        "store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False},
        "market": {"symbols": ["SPY"], "initial_prices": [520.0], "vols": [0.16], "chains": ["SPY"],
                   "tick_ms": 300_000, "trade_rate": 0.0},
        "options": {"enabled": True},
        "risk_monitor": {"enabled": True, "mc_scenarios": 500, "min_interval_ms": 0}}, env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=START))
    book.run_simulated(2)
    sym = book.resolve_instrument(JAN2).symbol
    before = book.submit_order(Order("buy-before", sym, "buy", 1, ts_init=book.now_ns()))
    assert before.status.value == "filled", before
    book.run_simulated(6)                                    # past 16:00 New York: settled
    risk = book.desks["risk"]
    assert book.position(sym) == 0 and risk.stats["rerisks"] > 0
    rows = {(p.instrument_id, p.qty, p.strategy) for b in risk._books.values() for p in b.positions}
    assert rows == {(p.instrument_id, p.qty, p.strategy) for p in book_positions(book)}
    assert sym not in {iid for iid, _, _ in rows}
    after = book.submit_order(Order("buy-after", sym, "buy", 1, ts_init=book.now_ns()))
    assert after.status.value == "denied" and "expired" in after.reason, after
    assert after.filled_qty == 0 and after.order.client_order_id not in book.broker.working   # never at the broker
    metrics = book.metrics.render()
    metrics = metrics.decode() if isinstance(metrics, bytes) else metrics
    assert 'code="expired"' in metrics                        # counted under its stable code
    book.close()
