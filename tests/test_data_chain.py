"""ultimate_nb.data.chain beyond its notebook: a chain riding the simulator's quote stream through a
day roll into Parquet snapshots (the benchmark's quick mode is a case of tests/test_benchmarks.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from ultimate_nb.core.config import MarketSettings
from ultimate_nb.core.events import Quote
from ultimate_nb.data.chain import (
    ChainModel, OptionChain, expiry_ns, ny_date, read_snapshots, write_snapshot,
)
from ultimate_nb.data.simulator import MarketSimulator


def test_chain_on_simulator_stream_rolls_day_and_snapshots_round_trip(tmp_path):
    # Arrange: SPY simulated from 15:59 on a Friday that is also an expiry, over the close
    friday = date(2019, 1, 18)
    start = expiry_ns(friday) - 60 * 10**9
    sim = MarketSimulator(MarketSettings(symbols=["SPY"], initial_prices=[260.0], vols=[0.2],
                                         tick_ms=30_000), start_ns=start)
    chain = OptionChain("SPY", model=ChainModel.default(260.0), rng=np.random.default_rng(3))
    written = []
    # Act: feed quotes over the close, then Monday's opening quote
    for _ in range(6):
        for ev in sim.step():
            if isinstance(ev, Quote):
                chain.on_quote(ev)
        chain.update()
        written.append(chain.frame())
        write_snapshot(written[-1], tmp_path)
    monday_open = expiry_ns(date(2019, 1, 21)) - int(6.5 * 3600) * 10**9   # 9:30 New York
    chain.on_quote(Quote("SPY", 259.0, 259.02, 100, 100, monday_open, monday_open))
    # Assert
    assert chain.day == date(2019, 1, 21) and (chain.col("expiry_ns") > chain.ts).all()
    assert np.nansum(chain.col("volume")) == 0                       # the day's volume restarted
    back = read_snapshots(tmp_path, "SPY")
    pd.testing.assert_frame_equal(back, pd.concat(written, ignore_index=True))
    assert {ny_date(t) for t in back["ts"]} == {friday}
