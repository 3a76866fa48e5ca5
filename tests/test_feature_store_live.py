"""The feature store in the book: the desk writes the streaming bar features online as each bar is
computed, a batch recomputation over the same bars equals what was served, REST serves the registry
and the online vectors, Prometheus sees freshness and statistics; the online store on PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from conftest import REPO, free_port
from ultimate_nb.analytics.features import BAR_FIELDS, compute_features, default_specs
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Bar
from ultimate_nb.data.feature_store import (FeatureStore, FeatureStoreDesk, FeatureStoreSettings, FeatureView,
                                            PostgresOnlineStore)
from ultimate_nb.live import api
from ultimate_nb.live.strategy import Strategy
from ultimate_nb.live.system import TradingSystem

START = 1_767_275_400_000_000_000
MINUTE_TICKS = 60 * 1000 // 250
TOKEN = "f" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NAMES = ("ret_1", "rvol_21", "rsi_14", "macd", "bb_pctb_20", "atr_14", "days_since_prev", "obv")


class Recorder(Strategy):
    "Records what the book's own pipeline gives the strategy (ctx.features) per bar."
    strategy_id = "rec"
    features = NAMES

    def __init__(self):
        super().__init__()
        self.rows = []

    def on_bar(self, bar):
        self.rows.append((bar.instrument_id, bar.ts_event, self.ctx.features(bar.instrument_id)))


def assert_parity(x: np.ndarray, y: np.ndarray, tol: float = 1e-8) -> None:
    "NaN in the same places; elsewhere |x - y| within tol of max(|y|, the column's median |y|)."
    assert np.array_equal(np.isnan(x), np.isnan(y))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)            # all-NaN columns (long warm-ups)
        med = np.nanmedian(np.abs(y), axis=0)
    scale = np.maximum(np.abs(y), np.where(np.isfinite(med), med, 0.0))
    ok = ~np.isnan(y)
    assert np.all(np.abs(x - y)[ok] <= tol * np.maximum(scale[ok], 1e-12))


def make_book(var: Path, **section):
    s = load_settings(overrides={"store": {"var_dir": str(var)}}, env_file=None)
    rec = Recorder()
    book = TradingSystem(s, clock=SimClock(start_ns=START), strategy=rec)
    desk = book.add_desk("features", FeatureStoreDesk.from_settings(book, FeatureStoreSettings(**section)))
    served = []                                   # what an out-of-process reader got after each bar
    book.bus.subscribe(Bar, lambda b: served.append(
        (b.instrument_id, b.ts_event, desk.store.online_vector(desk.view, b.instrument_id))), name="reader")
    return book, desk, rec, served


def test_served_features_equal_batch_recomputation_and_the_books_own(tmp_path):
    book, desk, rec, served = make_book(tmp_path, flush_rows=64)
    book.run_simulated(30 * MINUTE_TICKS)                             # 30 one-minute bars per instrument
    book.close()                                                      # flushes the offline buffer
    assert desk.written == len(served) == 3 * 30 and not desk.dropped
    assert all(ts == t for _, ts, (t, _) in served)                   # served at once, not a bar late
    specs = {s.name: s for s in default_specs()}
    for inst in book.instruments:
        bars = desk.store.read_offline(desk.bars, [inst]).set_index("ts")
        batch = compute_features(bars.set_axis(pd.to_datetime(bars.index, utc=True))[list(BAR_FIELDS)],
                                 [specs[n] for n in desk.view.features])
        online = np.array([x for i, _, (_, x) in served if i == inst])
        assert online.shape == (30, 150) and np.isfinite(online[-1]).sum() > 60
        assert_parity(online, batch.to_numpy())
        own = pd.DataFrame([f for i, _, f in rec.rows if i == inst])  # the book's pipeline for its strategy
        assert_parity(own[list(NAMES)].to_numpy(), batch[list(NAMES)].to_numpy())
    offline = desk.store.read_offline(desk.view)
    assert len(offline) == 3 * 30 and len(list((tmp_path / "features" / "offline").rglob("*.parquet"))) == 2 * 2


def test_rest_serves_registry_and_online_vectors_and_metrics_see_freshness(tmp_path):
    book, desk, _, _ = make_book(tmp_path, features=list(NAMES), ttl_s=3600.0)
    book.run_simulated(25 * MINUTE_TICKS)
    client = TestClient(api.create_rest_app(book, TOKEN))
    assert client.get("/api/v1/features").status_code == 401
    views = {v["name"]: v for v in client.get("/api/v1/features", headers=AUTH).json()["views"]}
    assert set(views) == {"bar_features", "bar_features_bars"} and views["bar_features"]["features"] == list(NAMES)
    assert views["bar_features"]["ttl_s"] == 3600.0 and views["bar_features"]["owner"] == "live"
    r = client.get("/api/v1/features/bar_features/AAPL", headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    ts, x = desk.store.online_vector("bar_features", "AAPL")
    assert body["ts"] == ts and not body["expired"] and list(body["features"]) == list(NAMES)
    assert body["features"]["rsi_14"] == pytest.approx(x[NAMES.index("rsi_14")], rel=1e-12)
    for path, word in (("/api/v1/features/bar_features/TSLA", "TSLA"), ("/api/v1/features/nope/AAPL", "nope")):
        r = client.get(path, headers=AUTH)
        assert r.status_code == 404 and word in r.json()["detail"]
    m = book.metrics
    fresh = m.value("ultimate_feature_freshness_seconds", view="bar_features")
    assert 0 <= fresh < 60                                            # the last bar closed less than a minute ago
    assert m.value("ultimate_feature_rows_total", view="bar_features", store="online") == 3 * 25
    assert m.value("ultimate_feature_errors_total", view="bar_features", reason="unknown_entity") == 1
    assert m.value("ultimate_feature_stat", view="bar_features", feature="rsi_14", stat="max") <= 100
    assert b"ultimate_feature_stat{" in m.render()
    book.close()


def test_a_bar_from_the_future_is_counted_and_dropped_and_the_loop_goes_on(tmp_path):
    book, desk, _, _ = make_book(tmp_path, features=list(NAMES))
    book.run_simulated(3 * MINUTE_TICKS)
    now = book.clock.timestamp_ns()
    book.bus.publish(Bar("AAPL", 190.0, 190.0, 190.0, 190.0, 1.0, now + 3600 * 10**9, now))
    book.run_simulated(2 * MINUTE_TICKS)
    assert desk.dropped["ValueError"] == 1 and desk.written == 3 * 5
    assert book.metrics.value("ultimate_feature_errors_total", view="bar_features", reason="future_event_time") == 1
    book.close()


def test_a_restarted_book_serves_the_stored_vectors_and_materialises_idempotently(tmp_path):
    book, desk, _, _ = make_book(tmp_path, features=list(NAMES))
    book.run_simulated(5 * MINUTE_TICKS)
    book.close()
    before = desk.store.online_vector("bar_features", "SPY")
    again, desk2, _, _ = make_book(tmp_path, features=list(NAMES))
    ts, x = desk2.store.online_vector("bar_features", "SPY")
    assert ts == before[0] and np.array_equal(x, before[1], equal_nan=True)
    assert desk2.store.materialize("bar_features")["bar_features"] == 3    # one part: rewrites the same rows
    assert desk2.store.materialize("bar_features")["bar_features"] == 0    # watermark: nothing new
    again.close()


# -- POSTGRESQL --
@pytest.fixture(scope="module")
def pg_url():
    base = Path(tempfile.mkdtemp(prefix="ultimate-pg-"))
    base.chmod(0o755)                       # the server runs as the postgres user
    run = subprocess.run(["bash", str(REPO / ".ci" / "postgres.sh"), "start", str(base), str(free_port())],
                         capture_output=True, text=True, timeout=300)
    if run.returncode == 3:
        pytest.skip(f"no PostgreSQL server available: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    yield run.stdout.strip().splitlines()[-1]
    subprocess.run(["bash", str(REPO / ".ci" / "postgres.sh"), "stop", str(base)], capture_output=True, timeout=60)
    shutil.rmtree(base, ignore_errors=True)


def test_online_store_on_postgres_upserts_by_event_time_and_keeps_watermarks(pg_url, tmp_path):
    store = FeatureStore(tmp_path, online=PostgresOnlineStore(pg_url), now_ns=lambda: START)
    v = FeatureView("q", "instrument", ("mid", "spread_bps"), ttl_s=60.0)
    store.register(v)
    assert store.write_online(v, [{"instrument": "AAPL", "ts": START, "mid": 190.0, "spread_bps": 1.0},
                                  {"instrument": "AAPL", "ts": START - 1, "mid": 1.0, "spread_bps": 1.0}]) == 1
    store.write_offline(v, [{"instrument": "MSFT", "ts": START - 5, "mid": 410.0, "spread_bps": 2.0}])
    assert store.materialize(v) == {"q": 1} and store.materialize(v) == {"q": 0}
    again = FeatureStore(tmp_path, online=PostgresOnlineStore(pg_url), now_ns=lambda: START)
    again.register(v)
    assert again.get_online("q", "AAPL")["features"] == {"mid": 190.0, "spread_bps": 1.0}
    assert again.online.entities(v.key) == ["AAPL", "MSFT"] and again.online.watermark(v.key) == 0
    with pytest.raises(KeyError, match="'TSLA' has no online features"):
        again.get_online("q", "TSLA")


def test_the_desk_writes_online_to_postgres(pg_url, tmp_path):
    book, desk, _, served = make_book(tmp_path, features=list(NAMES), online_url=pg_url, view="pg_bars")
    book.run_simulated(3 * MINUTE_TICKS)
    book.close()
    assert isinstance(desk.store.online, PostgresOnlineStore) and len(served) == 9
    assert desk.store.online.entities("pg_bars@v1") == sorted(book.instruments)
