"""Books and scenarios shared by the risk benchmarks (`risk_var.py`, `gpu.py`): numpy only, so the GPU run
imports them without the CPU benchmarks' own dependencies (Dask)."""

from __future__ import annotations

import numpy as np

SEED = 20_240_601


def linear_book(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    "Return (cov, positions, mu): a 5-factor daily covariance of n assets, $1m-ish positions, drift."
    rng = np.random.default_rng(SEED)
    B = rng.normal(0.0, 0.008, (n, 5))
    cov = B @ B.T + np.diag(rng.uniform(0.005, 0.02, n) ** 2)
    positions = rng.uniform(-0.5e6, 1.5e6, n)
    mu = rng.normal(3e-4, 1e-4, n)
    return cov, positions, mu


def option_book(n_opt: int, n_und: int):
    "Return a book of n_opt European options (`ultimate_nb.risk.var.OptionBook`) on n_und underlyings with spot 100."
    from ultimate_nb.risk.var import OptionBook

    rng = np.random.default_rng(SEED + 1)
    return OptionBook(
        spot=np.full(n_und, 100.0),
        underlying=np.arange(n_opt) % n_und,
        K=rng.uniform(70.0, 130.0, n_opt),
        T=rng.uniform(0.05, 2.0, n_opt),
        sigma=rng.uniform(0.12, 0.45, n_opt),
        kind=np.where(rng.random(n_opt) < 0.5, 1.0, -1.0),
        qty=rng.normal(0.0, 100.0, n_opt),
        r=0.03,
        q=rng.uniform(0.0, 0.03, n_und),
    )


def option_scenarios(n_scen: int, n_und: int) -> tuple[np.ndarray, np.ndarray]:
    "Return daily spot returns (1.2% vol, correlation 0.6) and vol shifts (1 point, -0.7 to spot)."
    rng = np.random.default_rng(SEED + 2)
    C = np.full((n_und, n_und), 0.6) + 0.4 * np.eye(n_und)
    z = rng.standard_normal((n_scen, n_und)) @ np.linalg.cholesky(C).T
    e = rng.standard_normal((n_scen, n_und))
    return 0.012 * z, 0.01 * (-0.7 * z + np.sqrt(1 - 0.49) * e)
