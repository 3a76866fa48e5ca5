"""CPU/GPU parity of `ultimate_nb.options.american`: device="cuda" gives the CPU's numbers.

Runs only where torch sees a CUDA device (`pytest -m gpu`); the torch code itself is also
checked against the numba kernels on the CPU inside nbs/10_options/02_american.ipynb.
"""

from __future__ import annotations

import numpy as np
import pytest

from ultimate_nb.core.device import has_cuda, to_numpy
from ultimate_nb.options.american import american_greeks, price_american

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not has_cuda(), reason="needs a CUDA device"),
]


def stub_contracts(n: int = 48, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return dict(
        S=rng.uniform(70.0, 130.0, n), K=np.full(n, 100.0), T=rng.integers(0, 730, n) / 365,
        r=rng.uniform(0.0, 0.08, n), sigma=rng.uniform(0.1, 0.6, n), q=rng.uniform(0.0, 0.05, n),
        kind=np.where(rng.random(n) < 0.5, 1.0, -1.0),
    )


@pytest.mark.parametrize("method,smooth", [("crr", False), ("crr", True), ("lr", False),
                                           ("lr", True)])
def test_tree_prices_on_cuda_match_cpu(method, smooth):
    c = stub_contracts()
    cpu = price_american(**c, method=method, steps=501, smooth=smooth)
    gpu = price_american(**c, method=method, steps=501, smooth=smooth, device="cuda")
    assert gpu.device.type == "cuda" and gpu.shape == cpu.shape
    np.testing.assert_allclose(to_numpy(gpu), cpu, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("basis,antithetic", [("laguerre", True), ("polynomial", False)])
def test_lsm_on_cuda_matches_cpu(basis, antithetic):
    c = {k: v[:6] for k, v in stub_contracts().items()}
    kw = dict(method="lsm", paths=40_000, exercise_dates=25, basis=basis, antithetic=antithetic)
    cpu = price_american(**c, **kw, rng=11)
    gpu = price_american(**c, **kw, rng=11, device="cuda")
    np.testing.assert_allclose(to_numpy(gpu.price), cpu.price, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(to_numpy(gpu.stderr), cpu.stderr, rtol=1e-8, atol=1e-13)


def test_tree_greeks_on_cuda_match_cpu():
    c = stub_contracts()
    cpu = american_greeks(**c, steps=400, smooth=True)
    gpu = american_greeks(**c, steps=400, smooth=True, device="cuda")
    for k, v in cpu.items():
        np.testing.assert_allclose(to_numpy(gpu[k]), v, rtol=1e-9, atol=1e-11, err_msg=k)


def test_fd_with_cuda_device_runs_on_cpu_and_returns_a_cuda_tensor():
    c = {k: v[:8] for k, v in stub_contracts().items()}
    gpu = price_american(**c, method="fd", steps=200, device="cuda")
    assert gpu.device.type == "cuda"
    np.testing.assert_array_equal(to_numpy(gpu), price_american(**c, method="fd", steps=200))
