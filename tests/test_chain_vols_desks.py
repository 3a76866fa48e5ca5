"""Chain implied vols feed the hedging desk and the risk monitor: with `market.chains` on, both read
`live.options.chain_vols` (the chain desk's ATM implied vol per underlying) instead of a constant vol."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order
from ultimate_nb.live.options import chain_vols
from ultimate_nb.live.system import TradingSystem

START = int(datetime(2026, 1, 2, 15, 0, tzinfo=timezone.utc).timestamp()) * 10**9      # 10:00 New York
PUT, CALL = "SPY   260116P00505000", "SPY   260116C00525000"


def book_with_chain(tmp_path, chains=("SPY",)):
    s = load_settings(overrides={
        "store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False},
        "market": {"symbols": ["SPY"], "initial_prices": [520.0], "vols": [0.16], "chains": list(chains),
                   "tick_ms": 60_000, "trade_rate": 0.0},
        "options": {"enabled": bool(chains)},
        "hedging": {"enabled": True, "vol": 0.5, "rebalance": "time", "interval_s": 60.0, "check_s": 0.0},
        "risk_monitor": {"enabled": True, "default_vol": 0.9, "min_interval_ms": 0, "mc_scenarios": 500},
    }, env_file=None)
    return TradingSystem(s, clock=SimClock(start_ns=START))


def test_hedging_desk_and_risk_monitor_read_the_chain_vols(tmp_path):
    book = book_with_chain(tmp_path)
    hedging, risk = book.desks["hedging"], book.desks["risk"]
    assert hedging.vols is chain_vols and risk.vols is chain_vols        # the default with market.chains on
    book.run_simulated(3)
    for sym in (PUT, CALL):
        book.submit_order(Order(f"sell-{sym[-9:]}", book.resolve_instrument(sym).symbol, "sell", 10,
                                strategy_id="strangle", ts_init=book.now_ns()))
    iv = chain_vols(book)["SPY"]
    assert 0.12 < iv < 0.20                                   # the chain's surface, not hedging.vol = 0.5
    assert risk._vol("SPY") == pytest.approx(iv)              # the monitor's fallback vol is the chain's
    d = hedging.check()[0]
    assert d["underlying"] == "SPY"

    chain = book.chains.chains["SPY"]                         # the chain's vols double: both desks follow
    chain.last["iv_mid"] = chain.last["iv_mid"] * 2.0
    assert chain_vols(book)["SPY"] == pytest.approx(2 * iv)
    book.submit_order(Order("buy-1", book.resolve_instrument(CALL).symbol, "buy", 1, strategy_id="strangle",
                            ts_init=book.now_ns()))
    assert risk._vol("SPY") == pytest.approx(2 * iv)
    g1 = hedging.engine.book_greeks([(book.instruments[CALL], -9)], book.marks, hedging.vols(book), book.now_ns())
    g0 = hedging.engine.book_greeks([(book.instruments[CALL], -9)], book.marks, iv, book.now_ns())
    assert g1["SPY"]["vega"] != pytest.approx(g0["SPY"]["vega"], rel=1e-3)   # Greeks at the chain's new vol
    book.close()


def test_without_chains_the_desks_keep_their_constant_vols(tmp_path):
    book = book_with_chain(tmp_path, chains=())
    assert book.desks["hedging"].vols is None and book.desks["risk"].vols is None
    assert book.desks["risk"]._vol("SPY") == pytest.approx(0.16)   # market.vols
    book.close()
