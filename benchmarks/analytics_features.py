"""Benchmark the feature pipeline: batch over a 10-asset panel and per-bar streaming latency.

Usage: `python benchmarks/analytics_features.py [--quick] [--out PATH]`

  batch     `compute_features` (TA-Lib + numpy/pandas, 156 features: the 150 bar features plus 6
            cross-asset ones against the S&P 500) for 10 assets x 20 years of daily bars  vs
            replaying the same bars through `FeaturePipeline` one at a time (same numbers)
  rolling   the 43 rolling-window statistics of the set (moments, z-scores, ranks, correlations,
            range volatilities, volume ratios) by `compute_features`  vs  the same quantities as
            pandas `rolling(...)` one-liners
  stream    per-bar latency of `FeaturePipeline.update_array` (all 156 features of one bar; p50 and
            p99 over every bar after the longest warm-up)  vs  recomputing `compute_features` on the
            trailing 300 bars and keeping the last row (what a live loop without incremental state
            does; its recursive indicators are then seeded 300 bars back, so only the latency
            compares), and `FeaturePipeline.update` with a dict bar (the convenience path)

Assets: the S&P 500 and NASDAQ Composite daily OHLCV 1999-2018 from `arch.data` (real bars), and 8
of the 20 stocks of `skfolio.datasets.load_sp500_dataset()` over the same dates. skfolio ships
adjusted closes only, so their open, high, low and volume are simulated around the real close
(seeded: gap N(0, 0.3%), high/low beyond max/min(open, close) by |N(0, 0.7%)|, log-normal
volume); they time the code, not the market. Without skfolio the 8 extra assets are copies of the
two indices rescaled and shifted by whole years, and the JSON says so.

Each measurement is repeated and the median kept; times come from `time.perf_counter_ns`.
Prints a table and machine info, and writes the numbers as JSON (default
`benchmarks/results/analytics_features.json`, or `analytics_features.quick.json` with `--quick`).
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ultimate_nb.analytics.features import FeaturePipeline, compute_features, default_specs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

FULL = dict(assets=10, repeats=3, stream_bars=None, window_bars=300, window_samples=200)
QUICK = dict(assets=2, repeats=1, stream_bars=400, window_bars=300, window_samples=10)
STOCKS = ("AAPL", "JNJ", "JPM", "KO", "MSFT", "PG", "WMT", "XOM")
ROLLING = (
    "rvol_", "skew_", "kurt_", "zclose_", "zret_", "rank_", "vol_ratio", "autocorr", "park_vol",
    "gk_vol", "rs_vol", "yz_vol", "volume_z", "volume_ratio", "_corr_", "_beta_",
)


# -- DATA --


def _synthetic_ohlcv(close: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    "Return OHLCV bars simulated around a real close series (for timing only)."
    c = close.to_numpy(float)
    o = np.concatenate(([c[0]], c[:-1])) * np.exp(rng.normal(0, 0.003, len(c)))
    h = np.maximum(o, c) * np.exp(np.abs(rng.normal(0, 0.007, len(c))))
    l = np.minimum(o, c) * np.exp(-np.abs(rng.normal(0, 0.007, len(c))))
    v = np.exp(rng.normal(16, 0.5, len(c))).round()
    return pd.DataFrame({"Open": o, "High": h, "Low": l, "Close": c, "Volume": v}, index=close.index)


def load_panel(n_assets: int) -> tuple[dict[str, pd.DataFrame], pd.Series, str]:
    "Return {name: OHLCV frame}, the S&P 500 close (context) and a note on where the bars came from."
    from arch.data import nasdaq, sp500

    spx, ndx = sp500.load(), nasdaq.load()
    cols = ["Open", "High", "Low", "Close", "Volume"]
    panel = {"SP500": spx[cols], "NASDAQ": ndx[cols]}
    rng = np.random.default_rng(20180101)
    try:
        from skfolio.datasets import load_sp500_dataset

        px = load_sp500_dataset().loc[spx.index[0]: spx.index[-1]]
        for name in STOCKS[: max(0, n_assets - 2)]:
            panel[name] = _synthetic_ohlcv(px[name].dropna(), rng)
        note = ("S&P 500 and NASDAQ real OHLCV (arch.data); 8 skfolio S&P 500 stocks: real adjusted "
                "close, simulated open/high/low/volume")
    except ImportError:
        for k in range(max(0, n_assets - 2)):
            base = (spx, ndx)[k % 2][cols]
            shifted = base.shift(252 * (k // 2 + 1)).dropna() * (1 + 0.1 * k)
            panel[f"COPY{k}"] = shifted.assign(Volume=base.Volume.reindex(shifted.index))
        note = "skfolio not installed: 8 extra assets are rescaled, year-shifted copies of the indices"
    return dict(list(panel.items())[:n_assets]), spx["Close"], note


# -- BENCHMARKS --


def _median_s(fn, repeats: int) -> float:
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn()
        ts.append((time.perf_counter_ns() - t0) / 1e9)
    return statistics.median(ts)


def _parity(a: pd.DataFrame, b: pd.DataFrame) -> float:
    "Return the largest scale-relative difference between two feature frames (NaN masks equal)."
    worst = 0.0
    for c in b.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            return float("inf")
        ok = ~np.isnan(y)
        if ok.any():
            sc = np.maximum(np.abs(y[ok]), np.median(np.abs(y[ok])))
            worst = max(worst, float(np.max(np.abs(x[ok] - y[ok]) / np.where(sc > 0, sc, 1.0))))
    return worst


def bench_batch(panel, ctx, repeats: int) -> dict[str, Any]:
    "Time compute_features over the panel vs replaying it through FeaturePipeline."
    context = {"index": ctx}
    compute_features(next(iter(panel.values())).iloc[:300], context=context)        # warm caches
    FeaturePipeline(context=("index",)).run(next(iter(panel.values())).iloc[:300], context)
    ours = _median_s(lambda: [compute_features(df, context=context) for df in panel.values()], repeats)
    ref = _median_s(lambda: [FeaturePipeline(context=("index",)).run(df, context)
                             for df in panel.values()], 1)
    parity = max(_parity(FeaturePipeline(context=("index",)).run(df, context),
                         compute_features(df, context=context)) for df in panel.values())
    n_bars = sum(len(df) for df in panel.values())
    return {"assets": len(panel), "bars": n_bars, "features": len(default_specs(("index",))),
            "ours_s": ours, "reference_s": ref, "ratio": ref / ours,
            "ours_bars_per_s": n_bars / ours, "max_parity_error": parity}


def _pandas_rolling(df: pd.DataFrame, ctx: pd.Series) -> dict[str, pd.Series]:
    "The rolling statistics of the default set, written as pandas one-liners."
    c, o, h, l, v = (df[k] for k in ("Close", "Open", "High", "Low", "Volume"))
    r, rc = np.log(c).diff(), np.log(ctx.reindex(df.index).ffill()).diff()
    hl, oc, gap = np.log(h / l), np.log(c / o), np.log(o / c.shift())
    rsv = np.log(h / c) * np.log(h / o) + np.log(l / c) * np.log(l / o)
    lv = np.log1p(v)
    out = {}
    for w in (5, 10, 21, 63, 126, 252):
        out[f"rvol_{w}"] = r.rolling(w).std() * np.sqrt(252)
    for w in (21, 63, 252):
        out[f"skew_{w}"], out[f"kurt_{w}"] = r.rolling(w).skew(), r.rolling(w).kurt()
        out[f"rank_close_{w}"] = c.rolling(w).rank(pct=True)
    for w in (10, 21, 63, 252):
        out[f"zclose_{w}"] = (c - c.rolling(w).mean()) / c.rolling(w).std()
    for w in (21, 63):
        out[f"zret_{w}"] = (r - r.rolling(w).mean()) / r.rolling(w).std()
        out[f"volume_z_{w}"] = (lv - lv.rolling(w).mean()) / lv.rolling(w).std()
    out["rank_ret_63"] = r.rolling(63).rank(pct=True)
    out["vol_ratio_21_252"] = r.rolling(21).std() / r.rolling(252).std()
    out["autocorr_63"] = r.rolling(63).corr(r.shift())
    for w in (10, 21, 63):
        k = 0.34 / (1.34 + (w + 1) / (w - 1))
        out[f"park_vol_{w}"] = np.sqrt(252 / (4 * np.log(2)) * (hl**2).rolling(w).mean())
        out[f"gk_vol_{w}"] = np.sqrt(252 * (0.5 * hl**2 - (2 * np.log(2) - 1) * oc**2).rolling(w).mean())
        out[f"rs_vol_{w}"] = np.sqrt(252 * rsv.rolling(w).mean())
        out[f"yz_vol_{w}"] = np.sqrt(252 * (gap.rolling(w).var() + k * oc.rolling(w).var()
                                            + (1 - k) * rsv.rolling(w).mean()))
    for w in (5, 21):
        out[f"volume_ratio_{w}"] = v / v.rolling(w).mean()
    out["index_corr_21"] = r.rolling(21).corr(rc)
    out["index_corr_63"] = r.rolling(63).corr(rc)
    out["index_beta_63"] = r.rolling(63).cov(rc) / rc.rolling(63).var()
    return out


def bench_rolling(panel, ctx, repeats: int) -> dict[str, Any]:
    "Time the rolling-window statistics: ours vs pandas one-liners."
    names = list(_pandas_rolling(next(iter(panel.values())).iloc[:300], ctx))
    specs = [s for s in default_specs(("index",)) if s.name in names]
    assert len(specs) == len(names), sorted(set(names) - {s.name for s in specs})
    context = {"index": ctx}
    ours = _median_s(lambda: [compute_features(df, specs, context) for df in panel.values()], repeats)
    ref = _median_s(lambda: [_pandas_rolling(df, ctx) for df in panel.values()], repeats)
    df = next(iter(panel.values()))
    a = compute_features(df, specs, context)
    b = pd.DataFrame(_pandas_rolling(df, ctx))[a.columns]
    err = float(np.nanmax(np.abs(a - b).to_numpy() / np.maximum(np.abs(b).to_numpy(), 1e-3)))
    return {"features": len(specs), "ours_s": ours, "reference_s": ref, "ratio": ref / ours,
            "max_rel_diff_vs_pandas": err}


def bench_stream(df: pd.DataFrame, ctx: pd.Series, n_bars: int | None, window: int,
                 samples: int) -> dict[str, Any]:
    "Per-bar latency of update_array and update vs recomputing a trailing window each bar."
    df = df.iloc[:n_bars] if n_bars else df
    c = ctx.reindex(df.index).ffill()
    x = np.column_stack([df[k].to_numpy(float) for k in ("Open", "High", "Low", "Close", "Volume")]
                        + [c.to_numpy()])
    ns = df.index.as_unit("ns").asi8
    pipe = FeaturePipeline(context=("index",))
    skip = max(s.warmup for s in pipe.specs)
    lat = np.empty(len(df))
    for i in range(len(df)):
        t0 = time.perf_counter_ns()
        pipe.update_array(x[i], int(ns[i]))
        lat[i] = time.perf_counter_ns() - t0
    lat = lat[min(skip, len(df) - 1):] / 1e3
    pipe = FeaturePipeline(context=("index",))
    bars = [(ts, {k.lower(): float(v) for k, v in row.items()}, {"index": float(c[ts])})
            for ts, row in df[["Open", "High", "Low", "Close", "Volume"]].iterrows()]
    lat_d = np.empty(len(bars))
    for i, (ts, bar, cx) in enumerate(bars):
        t0 = time.perf_counter_ns()
        pipe.update(bar, ts, cx)
        lat_d[i] = time.perf_counter_ns() - t0
    lat_d = lat_d[min(skip, len(df) - 1):] / 1e3
    ref = []
    ends = np.linspace(window, len(df) - 1, min(samples, len(df) - window)).astype(int)
    for end in ends:
        t0 = time.perf_counter_ns()
        compute_features(df.iloc[end - window + 1: end + 1], context={"index": ctx}).iloc[-1]
        ref.append((time.perf_counter_ns() - t0) / 1e3)
    ref = np.asarray(ref)
    p = lambda a, q: float(np.percentile(a, q))
    return {"bars": len(df), "features": len(pipe.specs), "window_bars": window,
            "ours_p50_us": p(lat, 50), "ours_p99_us": p(lat, 99), "ours_max_us": float(lat.max()),
            "dict_p50_us": p(lat_d, 50), "dict_p99_us": p(lat_d, 99),
            "reference_p50_us": p(ref, 50), "reference_p99_us": p(ref, 99),
            "ratio_p50": p(ref, 50) / p(lat, 50), "ratio_p99": p(ref, 99) / p(lat, 99)}


# -- REPORT --


def _ta_lib_version() -> str:
    import talib

    return talib.__ta_version__.decode().split()[0]


def table(res: dict[str, Any]) -> str:
    b, r, s = res["batch"], res["rolling"], res["stream"]
    rows = [
        (f"batch {b['features']} features, {b['assets']} assets x {b['bars'] // b['assets']} bars",
         f"{b['ours_s']:.2f}", f"{b['reference_s']:.2f}", "s", f"{b['ratio']:.1f}"),
        (f"rolling statistics ({r['features']} of them), same panel",
         f"{r['ours_s']:.2f}", f"{r['reference_s']:.2f}", "s", f"{r['ratio']:.2f}"),
        (f"stream update_array, {s['features']} features, p50",
         f"{s['ours_p50_us']:.1f}", f"{s['reference_p50_us']:,.0f}", "µs/bar", f"{s['ratio_p50']:,.0f}"),
        (f"stream update_array, {s['features']} features, p99",
         f"{s['ours_p99_us']:.1f}", f"{s['reference_p99_us']:,.0f}", "µs/bar", f"{s['ratio_p99']:,.0f}"),
        ("stream update (dict bar), p50 / p99",
         f"{s['dict_p50_us']:.1f} / {s['dict_p99_us']:.1f}", "", "µs/bar", ""),
    ]
    head = ("benchmark", "ours", "reference", "unit", "ratio")
    w = [max(len(x[i]) for x in (head, *rows)) for i in range(5)]

    def line(cells) -> str:
        return "  ".join(c.ljust(w[0]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(cells))

    m = res["machine"]
    return "\n".join([
        f"machine: {m['cpu_count']} CPUs, {m['processor']}, Python {m['python']}, "
        f"TA-Lib {m['ta_lib']}, {m['platform']}",
        f"data: {res['data']}",
        line(head),
        "  ".join("-" * n for n in w),
        *map(line, rows),
        f"batch = stream on every asset: max scale-relative difference {b['max_parity_error']:.1e}; "
        f"rolling statistics vs pandas: max relative difference {r['max_rel_diff_vs_pandas']:.1e}",
        "references: batch = FeaturePipeline replay, bar by bar; rolling = pandas rolling one-liners; "
        f"stream = compute_features on the trailing {s['window_bars']} bars, last row",
    ])


def run(quick: bool = False) -> dict[str, Any]:
    "Run every benchmark and return the results."
    p = QUICK if quick else FULL
    t0 = time.perf_counter()
    panel, ctx, note = load_panel(p["assets"])
    if quick:
        panel = {k: v.iloc[-600:] for k, v in panel.items()}
    res = {
        "benchmark": "analytics_features",
        "quick": quick,
        "sizes": p,
        "data": note,
        "machine": machine_info("pandas") | {"ta_lib": _ta_lib_version()},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "batch": bench_batch(panel, ctx, p["repeats"]),
        "rolling": bench_rolling(panel, ctx, p["repeats"]),
        "stream": bench_stream(panel["SP500"], ctx, p["stream_bars"], p["window_bars"],
                               p["window_samples"]),
    }
    res["wall_s"] = time.perf_counter() - t0
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for("analytics_features", run, table, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
