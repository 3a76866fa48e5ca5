"""GammaScalper in a real book, built from examples/gamma_scalper.yaml as `make live` builds it: its
`strategy.strategies` entry
names the straddle by rule (SPY, the listed expiry nearest 30 days, the strike nearest spot), the options
desk lists it off the simulated chain, the strategy buys it through the book and delta-hedges with SPY.
Its P&L, measured at mids from just after the purchase, must track the gamma-scalping theory of the
engine on the path the book simulated: sum of 1/2 Gamma S^2 (r^2 - sigma^2 dt) over its hedge intervals
(Gamma of the engine's own Greeks at the purchase vol), plus the straddle's vega times the change of its
implied vol (the chain's surface moves with spot: a term the book marks and the theory's fixed vol does
not see), within a stated tolerance."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import OrderFilled
from ultimate_nb.execution.hedging import YEAR_NS, expiry_ns, option_greeks
from ultimate_nb.live.hedging import GammaScalper
from ultimate_nb.options.greeks import implied_vol
from ultimate_nb.live.system import TradingSystem

START = int(datetime(2026, 1, 5, 14, 35, tzinfo=timezone.utc).timestamp()) * 10**9      # Monday 9:35 New York
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gamma_scalper.yaml"


def scalper_book(tmp_path):
    "Return the book of examples/gamma_scalper.yaml on a SimClock, one-minute ticks, its journal in `tmp_path`."
    s = load_settings(EXAMPLE, overrides={"store": {"var_dir": str(tmp_path)},
                                          "market": {"tick_ms": 60_000, "bar_seconds": 60},
                                          "risk_monitor": {"mc_scenarios": 500, "full_interval_ms": 3.6e6}},
                      env_file=None)
    return TradingSystem(s, clock=SimClock(start_ns=START))


def value(book, sid, symbols):
    "Return the strategy's cash plus its positions at the book's mids, USD."
    ctx = book.contexts[sid]
    out = ctx.stats["cash"]
    for sym in symbols:
        inst = book.instruments[sym]
        out += book.position(sym, sid) * book.marks[sym] * inst.multiplier
    return out


def straddle_iv(book, s, now):
    "Return the mean implied vol of the straddle's marks (the rate of the chains, no dividend)."
    px = np.array([book.marks[s.call.symbol], book.marks[s.put.symbol]])
    T = (expiry_ns(s.call.expiry) - now) / YEAR_NS
    return float(implied_vol(px, book.marks["SPY"], s.call.strike, T, 0.025, 0.0, np.array([1.0, -1.0])).mean())


def test_gamma_scalper_from_settings_tracks_the_gamma_theory_in_a_book(tmp_path):
    book = scalper_book(tmp_path)
    s = book.strategies[0]
    assert isinstance(s, GammaScalper) and s.strategy_id == "gamma" and s.call is None   # by rule, chosen at the first bar
    costs = []
    book.bus.subscribe(OrderFilled, lambda f: costs.append(
        abs(f.price - book.marks["SPY"]) * f.qty + f.fee) if f.instrument_id == "SPY" else None)
    book.run_simulated(2)                                     # the straddle is bought and first hedged
    assert s.call.expiry == date(2026, 1, 30)                # the listed Friday nearest 30 days      # the listed Friday nearest 30 days
    assert s.call.strike == 520.0 and s.put.strike == 520.0   # nearest the money
    assert {book.position(i.symbol, "gamma") for i in (s.call, s.put)} == {20}
    assert 0.12 < s.vol < 0.20                                # its implied vol at purchase (the chain's 16%)
    syms = ("SPY", s.call.symbol, s.put.symbol)
    t0, S0, v0, iv0 = book.now_ns(), book.marks["SPY"], value(book, "gamma", syms), straddle_iv(book, s, book.now_ns())
    costs.clear()

    book.run_simulated(240)                                   # four hours of one-minute bars
    t1, S1, v1, iv1 = book.now_ns(), book.marks["SPY"], value(book, "gamma", syms), straddle_iv(book, s, book.now_ns())
    hedges = [(d.ts_ns, d.spot) for d in s.decisions if d.action == "hedge" and d.ts_ns > t0]
    assert len(hedges) >= 15 and book.position("SPY", "gamma") != 0      # delta-hedged with the underlying

    sig, grid = s.vol, [(t0, S0), *hedges, (t1, S1)]
    gamma = lambda t, S: sum(s.contracts * option_greeks(i, S, sig, t, 0.025)["gamma"] for i in (s.call, s.put))
    steps = [(0.5 * gamma(ta, Sa) * Sa**2, (Sb / Sa - 1) ** 2, (tb - ta) / YEAR_NS)
             for (ta, Sa), (tb, Sb) in zip(grid[:-1], grid[1:])]
    theory = sum(g * (r2 - sig**2 * dt) for g, r2, dt in steps)
    gross = sum(g * r2 for g, r2, _ in steps)                  # the gamma P&L harvested, before theta
    vega = sum(s.contracts * option_greeks(i, S1, sig, t1, 0.025)["vega"] for i in (s.call, s.put))
    realised = v1 - v0 + sum(costs)                           # at mids, before fees and half-spreads of the hedges
    expected = theory + vega * (iv1 - iv0)
    # tolerance: 15% of the gross gamma P&L (third-order terms, whole shares, the chain's dividend yield)
    assert gross > 50 and math.isfinite(realised)
    assert abs(realised - expected) < 0.15 * gross, (realised, theory, vega * (iv1 - iv0), gross)
    risk = book.desks["risk"].snapshot()["greeks"]["by_underlying"]      # the risk monitor sees the straddle
    assert [r["underlying"] for r in risk] == ["SPY"] and risk[0]["gamma"] > 0
    book.close()
