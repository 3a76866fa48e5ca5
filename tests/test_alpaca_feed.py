"""The Alpaca market-data adapter against the fake: historical bars, and the live stream through a drop."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pandas as pd
from alpaca_support import fake, fast_settings, run, subscribed, until, venue  # noqa: F401
from bokeh_sampledata.stocks import AAPL

from ultimate_nb.core.events import Bar, OrderSide, Quote, Trade
from ultimate_nb.execution.alpaca import AlpacaFeed

DAY_NS = 86_400 * 10**9


def _aapl_2012() -> pd.DataFrame:
    df = pd.DataFrame(AAPL).assign(date=lambda d: pd.to_datetime(d["date"])).set_index("date")
    return df.loc["2012", ["open", "high", "low", "close", "volume"]]


def test_history_returns_the_venue_bars_stamped_at_their_close(fake):
    frame = _aapl_2012()
    fake.load_bars("AAPL", frame, "1Day")
    feed = AlpacaFeed(fast_settings(fake), ["AAPL"])
    bars = feed.history(datetime(2012, 1, 1, tzinfo=timezone.utc), datetime(2012, 12, 31, tzinfo=timezone.utc))
    assert len(bars) == len(frame) == 250 and all(isinstance(b, Bar) for b in bars)
    first = frame.iloc[0]
    assert bars[0].ts_event - DAY_NS == pd.Timestamp(frame.index[0], tz="UTC").value   # Alpaca stamps the start
    assert abs(bars[0].close - first["close"]) < 1e-9 and abs(bars[-1].close - frame["close"].iloc[-1]) < 1e-9


def test_stream_maps_quotes_trades_and_bars_and_survives_a_drop(fake):
    async def scenario():
        feed = AlpacaFeed(fast_settings(fake), ["AAPL"])
        got, stop = [], asyncio.Event()
        task = asyncio.create_task(feed.run(got.append, stop=stop))
        await until(lambda: feed.stream_state == "connected")
        await until(lambda: subscribed(fake, "AAPL"))                   # its subscribe reached the fake
        await venue(fake, fake.publish, "q", "AAPL", bp=190.00, bs=300, ap=190.02, **{"as": 200})
        await venue(fake, fake.publish, "t", "AAPL", p=190.02, s=100, i=7)
        await venue(fake, fake.publish, "t", "AAPL", p=189.99, s=50, i=8)
        await venue(fake, fake.publish, "q", "AAPL", bp=190.05, bs=100, ap=190.00, **{"as": 100})  # crossed
        await venue(fake, fake.publish, "b", "AAPL", o=190.0, h=190.1, l=189.9, c=190.05, v=1200)
        await until(lambda: len(got) == 4)
        await venue(fake, fake.drop_streams)
        await until(lambda: feed.stats["stream_connected"] >= 2)
        await until(lambda: subscribed(fake, "AAPL"))                   # drop_streams forgot the old one
        await venue(fake, fake.publish, "q", "AAPL", bp=190.10, bs=300, ap=190.12, **{"as": 200})
        await until(lambda: len(got) == 5)
        stop.set()
        return await task, got, feed

    n, got, feed = run(scenario())
    assert n == 5 and [type(e) for e in got] == [Quote, Trade, Trade, Bar, Quote]
    assert got[1].aggressor is OrderSide.BUY and got[2].aggressor is OrderSide.SELL    # quote rule
    assert got[3].interval_ns == 60 * 10**9
    assert feed.stats["bad_events"] == 1                                  # the crossed quote was dropped
