"""Historical replay end to end: real S&P 500 bars through a bare bus, pacing, stop, clock, bad rows, fills."""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np
import pandas as pd
import pytest

from ultimate_nb.core.bus import MessageBus
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import BrokerSettings
from ultimate_nb.core.events import Bar, Order, OrderFilled, OrderSide, Quote
from ultimate_nb.data.historical import load, read_bars_parquet, replay_from_spec, write_bars_parquet
from ultimate_nb.execution.paper import PaperBroker


def _collect(bus: MessageBus) -> list:
    seen: list = []
    bus.subscribe((Quote, Bar), seen.append, name="collect")
    return seen


def test_replay_of_sp500_through_bus_counts_all_bars_in_order(record_property):
    feed = replay_from_spec("replay:sp500")   # 1999-01-04 .. 2018-12-31
    bus = MessageBus("replay")
    seen = _collect(bus)

    t0 = time.perf_counter()
    steps = asyncio.run(feed.run(bus.publish, speed=math.inf))
    wall = time.perf_counter() - t0

    bars = [e for e in seen if isinstance(e, Bar)]
    quotes = [e for e in seen if isinstance(e, Quote)]
    assert (steps, len(bars), len(quotes), bus.published) == (5031, 5031, 5031, 10062)
    assert feed.exhausted and sum(feed.dropped.values()) == 0
    ts = np.array([b.ts_event for b in bars])
    assert (np.diff(ts) > 0).all()
    assert all(q.ts_event == b.ts_event for q, b in zip(seen[0::2], seen[1::2]))   # quote, then its bar
    np.testing.assert_allclose([b.close for b in bars], load("sp500")["close"].to_numpy(), rtol=0)
    rate = bus.published / wall
    record_property("events_per_s", round(rate))
    print(f"sp500 replay: {steps} steps, {bus.published} events in {wall:.3f} s = {rate:,.0f} events/s")
    assert rate > 5_000   # 20 years of bars in about 2 s at worst: far faster than real time


def test_replay_merges_symbols_in_time_order_and_stamps_ts_init_from_clock():
    feed = replay_from_spec("replay:wti,sp500", start="2018-11-20", end="2018-11-28")
    clock = SimClock(start_ns=1_700_000_000_000_000_000)
    seen: list = []

    asyncio.run(feed.run(seen.append, clock=clock, speed=0))

    bars = [(e.instrument_id, pd.Timestamp(e.ts_event, tz="UTC")) for e in seen if isinstance(e, Bar)]
    assert [str(t) for s, t in bars if s == "SPX"] == [
        "2018-11-20 21:00:00+00:00", "2018-11-21 21:00:00+00:00", "2018-11-23 18:00:00+00:00",
        "2018-11-26 21:00:00+00:00", "2018-11-27 21:00:00+00:00",
    ]
    assert [t for _, t in bars] == sorted(t for _, t in bars)
    assert {e.ts_init for e in seen} == {clock.timestamp_ns()}


def test_replay_stops_on_stop_event_before_exhaustion():
    feed = replay_from_spec("replay:sp500")
    stop = asyncio.Event()
    seen: list = []

    def publish(ev):
        seen.append(ev)
        if len(seen) == 200:
            stop.set()

    steps = asyncio.run(feed.run(publish, speed=math.inf, stop=stop))

    assert steps == 100 and not feed.exhausted
    assert len(feed.step()) == 2   # resumes where it stopped


def test_replay_at_real_time_speed_is_paced_and_bounded_by_duration():
    feed = replay_from_spec("replay:aapl")
    seen: list = []

    t0 = time.perf_counter()
    steps = asyncio.run(feed.run(seen.append, speed=1.0, duration_s=0.3))

    assert steps == 1 and len(seen) == 2   # the next daily bar is a day of wall time away
    assert 0.25 <= time.perf_counter() - t0 < 3.0


def test_bad_rows_in_parquet_are_counted_and_dropped_while_streaming(tmp_path):
    spx = load("sp500").loc["2008-09"]
    bad = spx.copy()
    bad.iloc[3, bad.columns.get_loc("close")] = np.nan
    bad.iloc[5, bad.columns.get_loc("high")] = bad["low"].iloc[5] - 1.0
    path = write_bars_parquet({"SPX": bad}, tmp_path / "bars.parquet")
    feed = replay_from_spec(str(path))
    seen: list = []

    steps = asyncio.run(feed.run(seen.append, speed=math.inf))

    assert steps == len(spx) and feed.exhausted
    assert sum(isinstance(e, Bar) for e in seen) == len(spx) - 2
    assert sum(feed.dropped.values()) == 2


def test_unsorted_parquet_is_refused_with_row_number(tmp_path):
    spx = load("sp500").loc["2008-09"]
    df = pd.read_parquet(write_bars_parquet({"SPX": spx}, tmp_path / "ok.parquet"))
    df.iloc[[7, 8]] = df.iloc[[8, 7]].to_numpy()
    df.to_parquet(tmp_path / "unsorted.parquet")

    with pytest.raises(ValueError, match="row 8"):
        read_bars_parquet(tmp_path / "unsorted.parquet")


def test_paper_broker_fills_a_market_order_at_the_replayed_quote():
    feed = replay_from_spec("replay:msft", spread_bps=10.0, start="2010-01-04", end="2010-01-04 23:00")
    clock = SimClock(start_ns=feed.start_ns)
    venue: list = []
    broker = PaperBroker(BrokerSettings(), feed.instruments, clock, venue.append)
    for ev in feed.step():
        if isinstance(ev, Quote):
            broker.on_quote(ev)
    clock.set_time(feed.now_ns)
    q = feed.last_quote("MSFT")

    broker.submit(Order("c-1", "MSFT", OrderSide.BUY, 100, ts_init=feed.now_ns))

    fills = [e for e in venue if isinstance(e, OrderFilled)]
    assert [f.qty for f in fills] == [100] and fills[0].price == q.ask
    assert q.bid < 30.95 < q.ask   # MSFT closed at 30.95 on 2010-01-04
