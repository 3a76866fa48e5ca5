"""Benchmark the portfolio optimisers on 500 assets against independent references.

Usage: `python benchmarks/analytics_portfolio.py [--quick] [--out PATH] [--threads N]`

The covariance is a synthetic 10-factor model, Sigma = B F B' + D (annual factor vols 10-25%,
idiosyncratic vols 15-45%), with expected returns from factor premia plus noise; seeded.

  min-variance, unconstrained   mean_variance(bounds=None) (cvxpy + Clarabel)  vs  the closed form
                                Sigma^-1 1 / 1' Sigma^-1 1 (numpy solve)
  min-variance, long-only       mean_variance(bounds=(0, 0.05))  vs  scipy SLSQP on the same QP
  max-Sharpe, unconstrained     mean_variance("max_sharpe", bounds=None)  vs  Sigma^-1 (mu - rf),
                                normalised
  max-Sharpe, long-only         mean_variance("max_sharpe", bounds=(0, 0.05))  vs  scipy SLSQP
                                maximising the Sharpe ratio directly
  ERC (risk parity)             risk_parity (damped Newton on the log-barrier problem)  vs  scipy
                                L-BFGS-B on the same objective, and vs cvxpy's exponential cone
  HRP                           hrp  vs  Lopez de Prado's (2016) pandas code, transcribed

Each timing is the median of repeated runs after a warm-up, in milliseconds, and includes input
validation (the PSD check) and, for cvxpy, problem compilation. BLAS runs with the library's own
thread count, as a user gets it (the JSON records it); `--threads N` limits it to N, which on a
shared machine makes small dense problems time more steadily. "max |dw|" is the
largest weight difference between ours and the reference; "obj gap" the relative difference of
the objective being minimised (variance, minus the Sharpe ratio, the scale-free ERC log-barrier
objective; negative: ours is better). Prints a table and machine info and writes JSON (default
`benchmarks/results/analytics_portfolio.json`, or `analytics_portfolio.quick.json` with
`--quick`: 60 assets, one repeat, for the smoke test).
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.cluster import hierarchy as sch
from scipy.spatial.distance import squareform
from threadpoolctl import threadpool_info, threadpool_limits

from ultimate_nb.analytics.correlation import cov_to_corr
from ultimate_nb.analytics.portfolio import hrp, mean_variance, risk_parity

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

FULL = dict(n_assets=500, n_factors=10, repeats=5, slsqp_repeats=1, cap=0.05)
QUICK = dict(n_assets=60, n_factors=5, repeats=1, slsqp_repeats=1, cap=0.1)
RF = 0.02


def factor_model(n: int, k: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    "Return (mu, Sigma), annual, of a seeded k-factor model of n assets."
    rng = np.random.default_rng(seed)
    B = rng.normal(0.0, 0.6, (n, k))
    B[:, 0] = rng.uniform(0.5, 1.5, n)  # a market factor everyone loads on
    F = np.diag(rng.uniform(0.10, 0.25, k) ** 2)
    D = rng.uniform(0.15, 0.45, n) ** 2
    Sigma = B @ F @ B.T + np.diag(D)
    mu = RF + B @ rng.uniform(0.0, 0.04, k) + rng.normal(0.0, 0.02, n)
    return mu, Sigma


def timed(fn: Callable[[], Any], repeats: int, warmup: bool = True) -> tuple[float, Any]:
    "Return (median ms, last result) of fn over `repeats` runs."
    if warmup:
        fn()
    ts, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), out


# -- REFERENCES --
def ref_min_var(S: np.ndarray) -> np.ndarray:
    x = np.linalg.solve(S, np.ones(len(S)))
    return x / x.sum()


def ref_max_sharpe(mu: np.ndarray, S: np.ndarray) -> np.ndarray:
    x = np.linalg.solve(S, mu - RF)
    return x / x.sum()


def _slsqp(fun, jac, n, cap):
    res = optimize.minimize(
        fun, np.full(n, 1.0 / n), jac=jac, method="SLSQP", bounds=[(0.0, cap)] * n,
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1, "jac": lambda x: np.ones(n)}],
        options={"ftol": 1e-14, "maxiter": 2000},
    )
    return res.x


def ref_min_var_long_only(S: np.ndarray, cap: float) -> np.ndarray:
    return _slsqp(lambda x: x @ S @ x, lambda x: 2 * S @ x, len(S), cap)


def ref_max_sharpe_long_only(mu: np.ndarray, S: np.ndarray, cap: float) -> np.ndarray:
    ex = mu - RF

    def neg_sharpe(x):
        v = x @ S @ x
        return -(ex @ x) / np.sqrt(v)

    def grad(x):
        v = x @ S @ x
        return -(ex * v - (ex @ x) * (S @ x)) / v**1.5

    return _slsqp(neg_sharpe, grad, len(S), cap)


def ref_erc(S: np.ndarray) -> np.ndarray:
    n = len(S)
    res = optimize.minimize(
        lambda y: 0.5 * y @ S @ y - np.log(y).sum() / n, np.full(n, 1.0),
        jac=lambda y: S @ y - 1.0 / (n * y), method="L-BFGS-B", bounds=[(1e-12, None)] * n,
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10_000},
    )
    return res.x / res.x.sum()


def ref_hrp(cov: pd.DataFrame) -> pd.Series:
    "Lopez de Prado (2016) Snippets 1-4: single linkage, quasi-diagonal order, list bisection."
    corr = pd.DataFrame(cov_to_corr(cov.to_numpy()), cov.index, cov.columns)
    dist = ((1 - corr) / 2.0).clip(lower=0) ** 0.5
    link = sch.linkage(squareform(dist.to_numpy(), checks=False), "single").astype(int)
    sort_ix = pd.Series([link[-1, 0], link[-1, 1]])
    n = link[-1, 3]
    while sort_ix.max() >= n:
        sort_ix.index = range(0, sort_ix.shape[0] * 2, 2)
        df0 = sort_ix[sort_ix >= n]
        i, j = df0.index, df0.values - n
        sort_ix[i] = link[j, 0]
        sort_ix = pd.concat([sort_ix, pd.Series(link[j, 1], index=i + 1)]).sort_index()
        sort_ix.index = range(sort_ix.shape[0])
    items = corr.index[sort_ix.tolist()].tolist()
    w = pd.Series(1.0, index=items)
    c_items = [items]
    while c_items:
        c_items = [
            i[j:k] for i in c_items for j, k in ((0, len(i) // 2), (len(i) // 2, len(i)))
            if len(i) > 1
        ]
        for i in range(0, len(c_items), 2):
            v = []
            for c in (c_items[i], c_items[i + 1]):
                cv = cov.loc[c, c].to_numpy()
                ivp = 1.0 / np.diag(cv)
                ivp /= ivp.sum()
                v.append(ivp @ cv @ ivp)
            alpha = 1 - v[0] / (v[0] + v[1])
            w[c_items[i]] *= alpha
            w[c_items[i + 1]] *= 1 - alpha
    return w.reindex(cov.columns)


# -- RUN --
def bench(p: dict) -> list[dict[str, Any]]:
    "Return one result row per problem."
    mu, S = factor_model(p["n_assets"], p["n_factors"])
    tick = [f"A{i:03d}" for i in range(len(mu))]
    mu_s, S_df = pd.Series(mu, tick), pd.DataFrame(S, tick, tick)
    r, cap = p["repeats"], p["cap"]
    rows = []

    variance = lambda w: w @ S @ w
    neg_sharpe = lambda w: -(mu - RF) @ w / np.sqrt(w @ S @ w)
    # the log-barrier objective at the best scale of w (scale-free): 1/2 - mean log w + log vol
    erc_obj = lambda w: 0.5 - np.log(w).mean() + 0.5 * np.log(w @ S @ w)

    def add(name, ours, reference, ref_name, objective=None, ref_repeats=r):
        t_o, w_o = timed(ours, r)
        t_r, w_r = timed(reference, ref_repeats, warmup=ref_repeats > 1)
        w_o, w_r = np.asarray(w_o, dtype=float), np.asarray(w_r, dtype=float)
        gap = float("nan")
        if objective is not None:
            f_o, f_r = objective(w_o), objective(w_r)
            gap = float((f_o - f_r) / abs(f_r))
        rows.append({"problem": name, "ours_ms": t_o, "reference": ref_name, "reference_ms": t_r,
                     "max_abs_dw": float(np.max(np.abs(w_o - w_r))), "objective_gap": gap,
                     "speedup": t_r / t_o})

    add("min-variance, unconstrained", lambda: mean_variance(None, S_df, bounds=None),
        lambda: ref_min_var(S), "closed form (numpy)", variance)
    add(f"min-variance, long-only <= {cap:g}",
        lambda: mean_variance(None, S_df, bounds=(0, cap)),
        lambda: ref_min_var_long_only(S, cap), "scipy SLSQP", variance, p["slsqp_repeats"])
    add("max-Sharpe, unconstrained",
        lambda: mean_variance(mu_s, S_df, "max_sharpe", risk_free_rate=RF, bounds=None),
        lambda: ref_max_sharpe(mu, S), "closed form (numpy)", neg_sharpe)
    add(f"max-Sharpe, long-only <= {cap:g}",
        lambda: mean_variance(mu_s, S_df, "max_sharpe", risk_free_rate=RF, bounds=(0, cap)),
        lambda: ref_max_sharpe_long_only(mu, S, cap), "scipy SLSQP", neg_sharpe,
        p["slsqp_repeats"])
    add("ERC (Newton)", lambda: risk_parity(S_df), lambda: ref_erc(S), "scipy L-BFGS-B", erc_obj)
    add("ERC (cvxpy exp cone)", lambda: risk_parity(S_df, solver="cvxpy"), lambda: ref_erc(S),
        "scipy L-BFGS-B", erc_obj)
    add("HRP", lambda: hrp(S_df).weights, lambda: ref_hrp(S_df), "Lopez de Prado's code")
    return rows


def table(res: dict[str, Any]) -> str:
    "Return the results as a fixed-width text table."
    head = ("problem", "ours ms", "reference", "ref ms", "max |dw|", "obj gap", "speedup")
    rows = [
        (x["problem"], f"{x['ours_ms']:.1f}", x["reference"], f"{x['reference_ms']:.1f}",
         f"{x['max_abs_dw']:.1e}",
         "-" if x["objective_gap"] != x["objective_gap"] else f"{x['objective_gap']:+.1e}",
         f"{x['speedup']:.2f}x")
        for x in res["results"]
    ]
    w = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    left = {0, 2}

    def line(cells) -> str:
        return "  ".join(c.ljust(w[i]) if i in left else c.rjust(w[i]) for i, c in enumerate(cells))

    m, s = res["machine"], res["sizes"]
    return "\n".join([
        f"machine: {m['cpu_count']} CPUs, {m['processor']}, Python {m['python']}, numpy "
        f"{m['numpy']}, scipy {m['scipy']}, cvxpy {m['cvxpy']}, BLAS threads "
        f"{', '.join(m['blas_threads'])}",
        f"{s['n_assets']} assets, {s['n_factors']}-factor covariance; median of {s['repeats']} "
        f"runs (SLSQP: {s['slsqp_repeats']}); speedup = reference ms / ours ms; obj gap = "
        "(ours - reference) / |reference| of the minimised objective (< 0: ours better)",
        line(head),
        "  ".join("-" * n for n in w),
        *map(line, rows),
    ])


def run(quick: bool = False, threads: int | None = None) -> dict[str, Any]:
    "Run every benchmark with BLAS limited to `threads` threads (None: library default)."
    p = QUICK if quick else FULL
    t0 = time.perf_counter()
    with warnings.catch_warnings(), threadpool_limits(threads):
        warnings.simplefilter("ignore", RuntimeWarning)  # SLSQP probing sqrt of tiny variances
        blas = sorted({f"{x['internal_api']}:{x['num_threads']}" for x in threadpool_info()})
        results = bench(p)
    return {
        "benchmark": "analytics_portfolio",
        "quick": quick,
        "sizes": p,
        "machine": machine_info("scipy", "cvxpy") | {"blas_threads": blas},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "results": results,
        "wall_s": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    return main_for("analytics_portfolio", run, table, argv, __doc__, lambda ap: ap.add_argument(
        "--threads", type=int, default=None,
        help="limit BLAS to this many threads (default: the library's own, as a user gets it)"))


if __name__ == "__main__":
    sys.exit(main())
