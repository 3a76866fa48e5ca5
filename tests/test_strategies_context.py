"""What a strategy sees in the book: streaming features equal to the batch ones on real bars, several
strategies with their own symbols, budgets, fills and counters, timers, and strategies from settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ultimate_nb.analytics.features import compute_features, default_specs
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import Settings, load_settings
from ultimate_nb.core.events import OrderStatus
from ultimate_nb.data.historical import frames, replay_from_spec
from ultimate_nb.live.backtest import run_backtest
from ultimate_nb.live.strategy import Strategy
from ultimate_nb.live.system import TradingSystem

START = 1_767_275_400_000_000_000
MINUTE_TICKS = 60 * 1000 // 250


class Recorder(Strategy):
    "Records ctx.features per bar; buys `qty` on every bar (to hit budgets)."
    def __init__(self, features=(), qty=0, strategy_id="rec", every_s=0.0):
        super().__init__()
        self.features, self.qty, self.strategy_id, self.every_s = tuple(features), qty, strategy_id, every_s
        self.rows, self.states, self.fills, self.timers, self.stopped = [], [], [], [], False

    def on_start(self, ctx):
        super().on_start(ctx)
        if self.every_s:
            ctx.schedule(self.every_s)

    def on_bar(self, bar):
        if self.features:
            self.rows.append((bar.ts_event, self.ctx.features(bar.instrument_id)))
        if self.qty:
            own = self.ctx.own_position(bar.instrument_id)
            self.states.append(self.ctx.target(bar.instrument_id, own + self.qty, bar.ts_event))

    def on_fill(self, fill): self.fills.append(fill)
    def on_timer(self, ts_ns): self.timers.append(ts_ns)
    def on_stop(self): self.stopped = True


def test_streaming_features_in_the_book_equal_batch_features_on_real_bars():
    names = ["ret_1", "rvol_21", "rsi_14", "macd", "sma_ratio_50", "bb_pctb_20", "atr_14", "dow_sin"]
    rec = Recorder(names)
    run_backtest(rec, replay_from_spec("replay:sp500", start="2005-01-01", end="2008-01-01"))
    spx = frames("sp500")["SPX"].loc["2005-01-01":"2007-12-31"]
    specs = {s.name: s for s in default_specs()}
    batch = compute_features(spx, [specs[n] for n in names])
    live = pd.DataFrame([r for _, r in rec.rows], index=pd.to_datetime([t for t, _ in rec.rows], utc=True))
    assert len(live) == len(batch) == 754
    np.testing.assert_allclose(live[names].to_numpy(), batch[names].to_numpy(), rtol=1e-9, atol=1e-12)
    assert live.iloc[-1].notna().all() and live["rvol_21"].isna().sum() == 21


def make_book(tmp_path, strategies, **sections) -> TradingSystem:
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, **sections}, env_file=None)
    return TradingSystem(s, clock=SimClock(start_ns=START), strategy=strategies)


def test_two_strategies_keep_their_symbols_fills_and_budgets(tmp_path):
    a = Recorder(qty=100, strategy_id="a", every_s=60.0)
    a.symbols, a.budget = ("AAPL",), a.budget.model_copy(update={"max_position_qty": 300})
    b = Recorder(qty=50, strategy_id="b")
    b.symbols = ("MSFT", "SPY")
    book = make_book(tmp_path, [a, b])
    book.run_simulated(6 * MINUTE_TICKS)
    assert {f.instrument_id for f in a.fills} == {"AAPL"} and {f.instrument_id for f in b.fills} == {"MSFT", "SPY"}
    assert book.position("AAPL", "a") == 300                       # capped by its own budget
    denied = [s for s in book.oms.orders.values() if s.status is OrderStatus.DENIED]
    assert denied and all(s.order.strategy_id == "a" and "max_position_qty 300" in s.reason for s in denied)
    snap = {r["id"]: r for r in book.account_snapshot()["strategies"]}
    assert snap["a"]["denied_budget"] == len(denied) and snap["b"]["denied_budget"] == 0
    assert snap["a"]["fills"] == len(a.fills) and snap["a"]["positions"] == {"AAPL": 300}
    assert snap["b"]["positions"] == {"MSFT": book.position("MSFT", "b"), "SPY": book.position("SPY", "b")}
    assert np.isfinite(snap["a"]["pnl"]) and snap["a"]["pnl"] < 0     # paid the spread and fees, marked at mids
    lim = book.contexts["a"].limits("AAPL")
    assert lim["position_left"] == 0 and lim["book_position_left"] == 50_000 - 300
    assert len(a.timers) >= 5 and np.all(np.diff(a.timers) == 60 * 10**9)
    book.close()
    assert a.stopped and b.stopped


def test_strategies_from_settings_and_clear_errors(tmp_path):
    spec = {"id": "mac-aapl", "class": "ultimate_nb.live.strategy:MovingAverageCrossover",
            "params": {"fast": 3, "slow": 10, "order_qty": 20}, "symbols": ["AAPL"],
            "budget": {"max_notional": 1e6}}
    sig = {"id": "sig", "class": "ultimate_nb.live.strategies:SignalStrategy", "symbols": ["SPY"]}
    book = make_book(tmp_path, None, strategy={"strategies": [spec, sig]})
    assert [s.strategy_id for s in book.strategies] == ["mac-aapl", "sig"]
    assert book.strategies[1].symbols == ("SPY",) and book.strategies[0].settings.slow == 10
    book.close()
    bad = {**spec, "class": "ultimate_nb.live.nope:X"}
    with pytest.raises(ValueError, match=r"strategy.strategies\[0\].class = 'ultimate_nb.live.nope:X'"):
        make_book(tmp_path / "x", None, strategy={"strategies": [bad]})
    with pytest.raises(ValueError, match="not instruments of the book"):
        make_book(tmp_path / "y", None, strategy={"strategies": [{**spec, "symbols": ["TSLA"]}]})
