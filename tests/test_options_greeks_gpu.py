"""CPU/GPU parity of `ultimate_nb.options.greeks`: the torch path on CUDA against the numba kernels.

Both are float64 and evaluate the same formulas; they may differ in the last bits of exp, log and
erfc and in fused multiply-adds. Greeks must agree to 1e-10 relative, with an absolute floor of
1e-15 of each Greek's largest value for Greeks that cross zero; implied volatilities to 1e-10
relative wherever vega is material (a 1e-10 change of volatility moves the price by at least 40
roundings of it), with the same status codes there.
"""

from __future__ import annotations

import numpy as np
import pytest

from ultimate_nb.core.device import has_cuda, to_numpy
from ultimate_nb.options.greeks import (
    BLACK_KEYS,
    GREEK_KEYS,
    black_greeks,
    black_price,
    bs_greeks,
    implied_vol,
    implied_vol_black,
)

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda() -> str:
    if not has_cuda():
        pytest.skip("needs a CUDA device")
    return "cuda"


def random_options(n: int = 50_000, seed: int = 7) -> dict[str, np.ndarray]:
    "Options over wide ranges, with some zero expiries and zero volatilities."
    rng = np.random.default_rng(seed)
    S = np.exp(rng.uniform(np.log(1.0), np.log(5_000.0), n))
    T = np.exp(rng.uniform(np.log(1 / 365), np.log(10.0), n))
    sigma = rng.uniform(0.01, 3.0, n)
    return dict(
        S=S,
        K=S * np.exp(rng.uniform(-1.6, 1.6, n)),
        T=np.where(rng.random(n) < 0.02, 0.0, T),
        r=rng.uniform(-0.02, 0.10, n),
        sigma=np.where(rng.random(n) < 0.02, 0.0, sigma),
        q=rng.uniform(-0.02, 0.08, n),
        kind=np.where(rng.random(n) < 0.5, "call", "put"),
    )


def assert_agree(gpu, cpu, name: str) -> None:
    gpu, cpu = to_numpy(gpu), np.asarray(cpu)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-10, atol=1e-15 * np.abs(cpu).max(), err_msg=name)


def material_vega(o: dict[str, np.ndarray], g: dict[str, np.ndarray]) -> np.ndarray:
    w = np.where(o["kind"] == "call", 1.0, -1.0)
    terms = 2 * np.abs(g["delta"]) * o["S"] - w * g["price"]
    return (g["price"] > 1e-300) & (g["vega"] * 1e-10 >= 40 * np.finfo(float).eps * terms)


def test_bs_greeks_on_cuda_match_cpu(cuda):
    o = random_options()
    cpu = bs_greeks(**o)
    gpu = bs_greeks(**o, device=cuda)
    assert list(gpu) == list(GREEK_KEYS)
    for k in GREEK_KEYS:
        assert gpu[k].device.type == "cuda"
        assert_agree(gpu[k], cpu[k], k)


def test_black_greeks_on_cuda_match_cpu(cuda):
    o = random_options(seed=11)
    args = dict(F=o["S"], K=o["K"], T=o["T"], r=o["r"], sigma=o["sigma"], kind=o["kind"])
    cpu, gpu = black_greeks(**args), black_greeks(**args, device=cuda)
    for k in BLACK_KEYS:
        assert_agree(gpu[k], cpu[k], k)


def test_implied_vol_on_cuda_matches_cpu_where_vega_is_material(cuda):
    o = random_options(seed=3)
    o["T"] = np.maximum(o["T"], 1 / 365)
    o["sigma"] = np.maximum(o["sigma"], 0.01)
    g = bs_greeks(**o, order=1)
    args = (g["price"], o["S"], o["K"], o["T"], o["r"], o["q"], o["kind"])
    iv_cpu, st_cpu = implied_vol(*args, return_status=True)
    iv_gpu, st_gpu = implied_vol(*args, return_status=True, device=cuda)
    m = material_vega(o, g)
    assert m.mean() > 0.5
    np.testing.assert_array_equal(to_numpy(st_gpu)[m], st_cpu[m])
    np.testing.assert_allclose(to_numpy(iv_gpu)[m], iv_cpu[m], rtol=1e-10, atol=0)


def test_implied_vol_black_on_cuda_matches_cpu(cuda):
    F, K = np.full(7, 80.0), np.array([40.0, 60.0, 75.0, 80.0, 85.0, 100.0, 160.0])
    price = black_price(F, K, 0.25, 0.04, 0.35)
    cpu = implied_vol_black(price, F, K, 0.25, 0.04)
    gpu = implied_vol_black(price, F, K, 0.25, 0.04, device=cuda)
    np.testing.assert_allclose(to_numpy(gpu), cpu, rtol=1e-10)


def test_arbitrage_prices_give_nan_on_cuda_too(cuda):
    price = np.array([0.5, 101.0, -1.0, np.nan])
    iv, st = implied_vol(price, 100.0, 100.0, 1.0, 0.05, return_status=True, device=cuda)
    assert np.isnan(to_numpy(iv)).all()
    assert to_numpy(st).tolist() == [1, 2, 1, 4]
