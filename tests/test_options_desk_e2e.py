"""The options desk end to end, every part switched on by settings as `make live` would: a short strangle
in the book, the hedging desk neutralising its delta through pre-trade risk, the risk monitor re-risking
after the fills and breaching a delta limit, all visible in /api/v1/risk, /api/v1/hedging and /metrics."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order
from ultimate_nb.live import api
from ultimate_nb.live.options import option_positions
from ultimate_nb.live.system import TradingSystem

TOKEN = "e" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = int(datetime(2026, 1, 2, 15, 0, tzinfo=timezone.utc).timestamp()) * 10**9      # 10:00 New York
PUT, CALL = "SPY   260116P00505000", "SPY   260116C00525000"


def test_strangle_hedged_and_risked_in_a_book_built_from_settings(tmp_path):
    s = load_settings(overrides={
        "store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False},
        "market": {"symbols": ["SPY"], "initial_prices": [520.0], "vols": [0.16], "chains": ["SPY"],
                   "tick_ms": 60_000, "trade_rate": 0.0},
        "options": {"enabled": True},
        "hedging": {"enabled": True, "rebalance": "time", "interval_s": 60.0, "check_s": 0.0},
        "risk_monitor": {"enabled": True, "min_interval_ms": 0, "full_interval_ms": 0, "mc_scenarios": 500,
                         "limits": [{"metric": "delta_usd", "warn": 1.0}]},
    }, env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=START))
    assert {"options", "hedging", "risk"} <= set(book.desks)
    book.run_simulated(3)
    for sym in (PUT, CALL):
        st = book.submit_order(Order(f"sell-{sym[-9:]}", book.resolve_instrument(sym).symbol, "sell", 10,
                                     strategy_id="strangle", ts_init=book.now_ns()))
        assert st.status.value == "filled", st
    book.run_simulated(5)                                    # marks move; the hedging desk acts on its clock
    held = {p.instrument.symbol: p.qty for p in option_positions(book)}
    assert held == {PUT: -10, CALL: -10}
    hedges = [o for o in book.oms.orders.values() if o.order.strategy_id == "hedging"]
    assert any(o.status.value == "filled" for o in hedges), [(o.order.qty, o.status.value) for o in hedges]
    decided = book.desks["hedging"].decisions
    assert decided and book.position("SPY", "hedging") != 0     # the strangle's delta is hedged with shares
    client = TestClient(api.create_rest_app(book, TOKEN))
    risk = client.get("/api/v1/risk", headers=AUTH)
    assert risk.status_code == 200, risk.text
    body = risk.json()
    assert "SPY" in str(body) and body                      # Greeks of the SPY book are reported
    hedging = client.get("/api/v1/hedging", headers=AUTH)
    assert hedging.status_code == 200 and hedging.json()
    text = book.metrics.render().decode() if isinstance(book.metrics.render(), bytes) else book.metrics.render()
    assert "ultimate_risk_limit_level" in text and "ultimate_strategy_orders_total" in text
    book.close()
