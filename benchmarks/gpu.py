"""Benchmark every CUDA path against the CPU in the same run, each row beside its roofline estimate.

Usage: `python benchmarks/gpu.py [--quick] [--rows NAME,...] [--budget-s S] [--out PATH]`

One row per piece of work (issue #22); each runs on the CPU of this machine and, where torch sees a
CUDA device, on the GPU, and reports both times, their ratio, the largest difference of the GPU's
result from the CPU's, a roofline estimate of the GPU time and the measured time over it.

  greeks      `bs_greeks(..., order=3)`: 16 Greeks of 1M random European options (numba | device=)
  iv          `implied_vol` on the prices of those options (numba | device=)
  crr         `price_american`: 200 American puts, CRR, 1,000 steps (numba | device=)
  lsm         `price_american(method="lsm")`: one put, 100k paths x 50 dates (full run: also 1M x 50)
  mc_var      Monte Carlo VaR/ES, 1M scenarios x 100 assets: `risk.var.monte_carlo_var_es` on all
              CPU cores | `mc_var_torch` below (risk.var has no device path: the torch code is the
              benchmark's own; the GPU draws other random numbers, so the difference is MC error)
  reval       full revaluation of a 1,000-option book on 10 underlyings under 100k spot/vol
              scenarios and its 99% VaR: `risk.var.revalue_options` | `revalue_torch` below, which
              calls `options.greeks.bs_price(..., device=)` on scenario chunks resident on the GPU
  nn_b1, nn_b1k, nn_b100k   the multi-task pricer (`ml.multitask`, trunk 64 x 3, five heads) under
              `inference_mode`, batch 1 / 1,000 / 100,000, inputs already on the device; batch 1
              also as a CUDA-graph replay (GPU only), the floor of launch overhead
  nn_train    one training step (Adam, batch 4,096, bf16 autocast on CUDA): `MultiTaskPricer.fit`
              timed at two epoch counts, the difference over the extra steps (setup cancels)
  gan         `TimeSeriesGAN.sample`: 10,000 paths of 250 days of the GAN trained briefly on
              `load_market_returns()` (the sampling cost does not depend on training); the same
              generator on the CPU (all threads) and on the device, same noise

Timing: one warm-up call, then the median of `repeats` calls, `torch.cuda.synchronize()` before
and after each GPU call; GPU inputs are moved to the device before the clock starts (the
transfer time is in the JSON as `gpu_transfer_s` where the library moves data itself).
Roofline: max(bytes / HBM bandwidth, flops / peak) for the ideal kernel (each input read once,
each output written once, intermediates in registers), with the peaks of the card in `PEAKS`
(NVIDIA datasheet, SXM: H100 3.35 TB/s HBM3, 33.5 TFLOP/s fp64 vector, 67 fp32 vector, 989 bf16
dense tensor; H200 4.8 TB/s, the same compute); elementwise fp64 code cannot use the fp64 tensor
cores (67 TFLOP/s), so the fp64 peak used is the vector one. A transcendental (exp, log, erfc,
sqrt) counts 20 flops. Rows limited by kernel launches (batch 1, trees stepping level by level)
say so: their roofline is far below any launch-bound time.
Without CUDA every GPU column is "n/a" (the CPU side still runs: `--quick` is the smoke test).
`--budget-s` skips the rows left once that many seconds have passed (marked "skipped").
Prints a table and writes JSON (default `benchmarks/results/gpu.json`, `gpu.quick.json` with
`--quick`).
"""

from __future__ import annotations

import copy
import math
import os
import statistics
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _books import SEED, linear_book, option_book, option_scenarios  # noqa: E402
from _common import machine_info, main_for  # noqa: E402

FULL = dict(n_greeks=1_000_000, n_crr=200, crr_steps=1_000, lsm=((100_000, 50), (1_000_000, 50)),
            mc=(1_000_000, 100), reval=(1_000, 10, 100_000), nn_train_rows=65_536, nn_batch=4_096,
            gan=(10_000, 250), gan_steps=30, pricer=(2_048, 30), repeats=5, repeats_b1=300,
            nn_batches={"nn_b1": 1, "nn_b1k": 1_000, "nn_b100k": 100_000})
QUICK = dict(n_greeks=5_000, n_crr=4, crr_steps=100, lsm=((2_000, 10),), mc=(5_000, 10),
             reval=(40, 4, 500), nn_train_rows=1_024, nn_batch=256, gan=(50, 40), gan_steps=2,
             pricer=(256, 3), repeats=1, repeats_b1=5,
             nn_batches={"nn_b1": 1, "nn_b1k": 100, "nn_b100k": 1_000})
NN_BATCHES = tuple(FULL["nn_batches"])     # rows; the batch sizes are the sizes' (quick: smaller)
ROWS = ("greeks", "iv", "crr", "lsm", "mc_var", "reval", "nn_b1", "nn_b1k", "nn_b100k", "nn_train",
        "gan")
TRANSCENDENTAL = 20.0          # flops counted for one exp/log/erfc/sqrt
PEAKS = {  # bytes/s of HBM, flop/s: fp64 vector, fp32 vector, bf16 dense tensor (NVIDIA SXM datasheets)
    "H100": dict(hbm=3.35e12, fp64=33.5e12, fp32=67e12, bf16=989e12),
    "H200": dict(hbm=4.8e12, fp64=33.5e12, fp32=67e12, bf16=989e12),
}


# -- DEVICE AND TIMING --
def gpu_device() -> str | None:
    "Return 'cuda' where torch sees a CUDA device, else None."
    from ultimate_nb.core.device import has_cuda
    return "cuda" if has_cuda() else None


def peaks_for(name: str | None) -> tuple[str, dict[str, float]]:
    "Return (card, peaks) for a GPU name: H200 if named, else the H100's (also with no GPU)."
    card = "H200" if name and "H200" in name.upper() else "H100"
    return card, PEAKS[card]


def _sync(dev: str | None) -> None:
    if dev and str(dev).startswith("cuda"):
        import torch
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], repeats: int, dev: str | None = None,
          warm: bool = True) -> tuple[float, Any]:
    "Return the median wall time of `repeats` calls of fn (after one warm-up) and its last result."
    out = None
    if warm:
        out = fn()
        _sync(dev)
    ts = []
    for _ in range(max(1, repeats)):
        _sync(dev)
        t0 = time.perf_counter()
        out = fn()
        _sync(dev)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def roofline(peaks: dict[str, float], bytes_: float, flops: float, unit: str = "fp64") -> float:
    "Return the roofline time in seconds: max(bytes / HBM bandwidth, flops / peak of `unit`)."
    return max(bytes_ / peaks["hbm"], flops / peaks[unit])


def _np(x: Any) -> np.ndarray:
    from ultimate_nb.core.device import to_numpy
    return np.asarray(to_numpy(x), dtype=np.float64)


def rel_of_scale(gpu: Any, cpu: Any) -> float:
    "Return max |gpu - cpu| / max |cpu| (NaN-safe: positions NaN on both sides are skipped)."
    g, c = _np(gpu), _np(cpu)
    both = np.isnan(g) & np.isnan(c)
    if (np.isnan(g) != np.isnan(c)).any():
        return math.inf
    scale = np.abs(c[~both]).max() if (~both).any() else 0.0
    return float(np.abs(g[~both] - c[~both]).max() / scale) if scale > 0 else 0.0


# -- DATA --
def options(n: int, seed: int = 20240115) -> dict[str, np.ndarray]:
    "Return n random European options (as benchmarks/options_greeks.py draws them)."
    rng = np.random.default_rng(seed)
    S = np.exp(rng.uniform(np.log(10.0), np.log(1000.0), n))
    return dict(S=S, K=S * np.exp(rng.uniform(-0.5, 0.5, n)), T=rng.uniform(1 / 365, 3.0, n),
                r=rng.uniform(-0.01, 0.08, n), sigma=rng.uniform(0.05, 1.0, n),
                q=rng.uniform(0.0, 0.05, n), kind=np.where(rng.random(n) < 0.5, 1.0, -1.0))








# -- TORCH CODE OF THE BENCHMARK'S OWN (rows whose module has no device path) --
def mc_var_torch(cov: np.ndarray, positions: np.ndarray, mu: np.ndarray, alpha: float,
                 n_scenarios: int, seed: int, device: str,
                 chunk: int = 250_000) -> tuple[float, float]:
    "Return Monte Carlo (VaR, ES) of linear positions drawn with torch on `device` (float64)."
    import torch

    from ultimate_nb.risk.var import cov_factor
    L = cov_factor(cov)
    b = torch.as_tensor(L.T @ positions, dtype=torch.float64, device=device)
    mw = float(positions @ mu)
    gen = torch.Generator(device=device).manual_seed(seed)
    pnl = torch.empty(n_scenarios, dtype=torch.float64, device=device)
    for lo in range(0, n_scenarios, chunk):
        m = min(chunk, n_scenarios - lo)
        z = torch.randn(m, b.numel(), dtype=torch.float64, device=device, generator=gen)
        torch.mv(z, b, out=pnl[lo:lo + m])
    loss = -(pnl + mw)
    k = max(1, int(math.ceil((1 - alpha) * n_scenarios)))      # the k worst losses make the tail
    tail = torch.topk(loss, k).values
    return float(tail[-1]), float(tail.mean())


def tail_var_es(loss: np.ndarray, alpha: float) -> tuple[float, float]:
    "Return (VaR, ES) of losses as `mc_var_torch` defines them: the k-th worst loss, the k worst's mean."
    k = max(1, int(math.ceil((1 - alpha) * loss.size)))
    tail = np.sort(loss)[-k:]
    return float(tail[0]), float(tail.mean())


def revalue_torch(book, spot_returns: np.ndarray, vol_shifts: np.ndarray, horizon: float,
                  device: str, chunk: int = 25_000) -> Any:
    "Return the full-revaluation P&L (torch on `device`) via `bs_price(..., device=)` in chunks."
    import torch

    from ultimate_nb.options.greeks import bs_price
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64), device=device)  # noqa: E731
    u = t(book.underlying).long()
    spot, K, T, sig0, w, qty = (t(a) for a in (book.spot, book.K, book.T - horizon, book.sigma,
                                                book.kind, book.qty))
    q = t(book.q)[u]
    p0 = bs_price(spot[u], K, t(book.T), book.r, sig0, q, w, device=device) @ qty
    R, V = t(spot_returns), t(vol_shifts)
    pnl = torch.empty(R.shape[0], dtype=torch.float64, device=device)
    for lo in range(0, R.shape[0], chunk):
        S = (spot * (1.0 + R[lo:lo + chunk]))[:, u]
        sig = torch.clamp(sig0 + V[lo:lo + chunk][:, u], min=0.0)
        pnl[lo:lo + chunk] = bs_price(S, K, T, book.r, sig, q, w, device=device) @ qty
    return pnl - p0


# -- ROWS --
def _row(work: str, cpu_s: float, gpu_s: float | None, diff: float | None, diff_what: str,
         roof_s: float | None, note: str = "", **extra: Any) -> dict[str, Any]:
    return dict(work=work, cpu_s=cpu_s, gpu_s=gpu_s,
                ratio=(cpu_s / gpu_s) if gpu_s else None, max_diff=diff, diff_what=diff_what,
                roofline_s=roof_s, over_roofline=(gpu_s / roof_s) if (gpu_s and roof_s) else None,
                note=note, **extra)


def row_greeks(p, dev, peaks, ctx) -> list[dict]:
    from ultimate_nb.options.greeks import GREEK_KEYS, bs_greeks
    d = options(p["n_greeks"])
    ctx["options"] = d
    args = [d[k] for k in ("S", "K", "T", "r", "sigma", "q", "kind")]
    cpu_s, g = timed(lambda: bs_greeks(*args, order=3), p["repeats"])
    ctx["greeks"] = g
    n = args[0].size
    roof = roofline(peaks, n * 8 * (7 + 16), n * (7 * TRANSCENDENTAL + 160))
    gpu_s = diff = xfer = None
    if dev:
        from ultimate_nb.core.device import to_device
        xfer, _ = timed(lambda: {k: v.cpu() for k, v in bs_greeks(*args, order=3, device=dev).items()},
                        1, dev)
        dargs = [to_device(a, dev) for a in args]
        gpu_s, gg = timed(lambda: bs_greeks(*dargs, order=3, device=dev), p["repeats"], dev)
        diff = max(rel_of_scale(gg[k], g[k]) for k in GREEK_KEYS)
    return [_row(f"16 Greeks to 3rd order, {n:,} options", cpu_s, gpu_s, diff,
                 "max over Greeks of max|gpu-cpu|/max|cpu|", roof,
                 "unfused torch elementwise ops", gpu_with_transfer_s=xfer)]


def row_iv(p, dev, peaks, ctx) -> list[dict]:
    from ultimate_nb.options.greeks import implied_vol
    d, g = ctx["options"], ctx["greeks"]
    args = [g["price"]] + [d[k] for k in ("S", "K", "T", "r", "q", "kind")]
    cpu_s, iv = timed(lambda: implied_vol(*args), p["repeats"])
    terms = 2 * np.abs(g["delta"]) * d["S"] - d["kind"] * g["price"]
    material = (g["price"] > 1e-300) & (g["vega"] * 1e-10 >= 40 * np.finfo(float).eps * terms)
    n = iv.size
    roof = roofline(peaks, n * 8 * (7 + 1), n * (30 * TRANSCENDENTAL + 400))
    gpu_s = diff = None
    if dev:
        from ultimate_nb.core.device import to_device
        dargs = [to_device(a, dev) for a in args]
        gpu_s, ivg = timed(lambda: implied_vol(*dargs, device=dev), p["repeats"], dev)
        diff = float(np.abs(_np(ivg)[material] - iv[material]).max())
    return [_row(f"implied vol, {n:,} options", cpu_s, gpu_s, diff,
                 f"max|gpu-cpu| vol where vega is material ({material.mean():.0%})", roof,
                 "Householder iterations; unfused torch", material_share=float(material.mean()))]


def row_crr(p, dev, peaks, ctx) -> list[dict]:
    from ultimate_nb.options.american import price_american
    rng = np.random.default_rng(SEED + 3)
    n, steps = p["n_crr"], p["crr_steps"]
    c = dict(S=rng.uniform(80.0, 120.0, n), K=100.0, T=rng.uniform(0.1, 2.0, n),
             r=rng.uniform(0.0, 0.06, n), sigma=rng.uniform(0.15, 0.5, n), q=rng.uniform(0.0, 0.03, n),
             kind="put")
    cpu_s, v = timed(lambda: price_american(**c, method="crr", steps=steps), p["repeats"])
    nodes = n * (steps + 1) * (steps + 2) / 2
    roof = roofline(peaks, n * 8 * 8, nodes * 8)
    gpu_s = diff = None
    if dev:
        gpu_s, vg = timed(lambda: price_american(**c, method="crr", steps=steps, device=dev),
                          p["repeats"], dev)
        diff = rel_of_scale(vg, v)
    return [_row(f"American puts CRR, {n} x {steps} steps", cpu_s, gpu_s, diff,
                 "max|gpu-cpu|/max|cpu| price", roof,
                 f"launch-bound: ~{steps} levels x a few kernels each; roofline from flops")]


def row_lsm(p, dev, peaks, ctx) -> list[dict]:
    from ultimate_nb.options.american import price_american
    c = dict(S=100.0, K=100.0, T=1.0, r=0.05, sigma=0.25, q=0.01, kind="put")
    rows = []
    for i, (paths, dates) in enumerate(p["lsm"]):
        kw = dict(method="lsm", paths=paths, exercise_dates=dates, rng=7)
        reps = p["repeats"] if paths <= 200_000 else 2
        cpu_s, v = timed(lambda: price_american(**c, **kw), reps, warm=i == 0)
        # ideal: read each normal once (antithetic: half as many), cash flows read+written per date
        roof = roofline(peaks, dates * (paths / 2 * 8 + paths * 8 * 4), dates * paths * 60)
        gpu_s = diff = None
        if dev:
            gpu_s, vg = timed(lambda: price_american(**c, **kw, device=dev), reps, dev, warm=i == 0)
            diff = abs(float(_np(vg.price)) - float(v.price)) / float(v.price)
        rows.append(_row(f"LSM put, {paths:,} paths x {dates} dates", cpu_s, gpu_s, diff,
                         "|gpu-cpu|/cpu price (same normals)", roof,
                         "normals drawn by numpy on the host, moved per call; one sync per date",
                         price=float(v.price), stderr=float(v.stderr)))
    return rows


def row_mc_var(p, dev, peaks, ctx) -> list[dict]:
    from ultimate_nb.risk.var import monte_carlo_var_es
    n, k = p["mc"]
    cov, w, mu = linear_book(k)
    cpu_s, (var, es) = timed(lambda: monte_carlo_var_es(
        cov, w, mu, 0.99, n_scenarios=n, seed=SEED, workers=os.cpu_count() or 1), p["repeats"])
    # ideal: draw the normals in registers and dot them (no HBM for z); the torch code writes and
    # reads z once: n * k * 16 bytes
    roof = roofline(peaks, n * 8 * 2, n * k * (2 + 2 * TRANSCENDENTAL / 2))
    gpu_s = diff = None
    if dev:
        gpu_s, (vg, eg) = timed(lambda: mc_var_torch(cov, w, mu, 0.99, n, SEED, dev), p["repeats"], dev)
        diff = abs(vg / var - 1)
    return [_row(f"MC VaR, {n:,} scenarios x {k} assets", cpu_s, gpu_s, diff,
                 "|VaR gpu/cpu - 1| (other random numbers: MC error)", roof,
                 "no device path in risk.var: torch code of this benchmark",
                 var_cpu=var, es_cpu=es, gpu_materialises_bytes=n * k * 16)]


def row_reval(p, dev, peaks, ctx) -> list[dict]:
    from ultimate_nb.risk.var import revalue_options
    n_opt, n_und, n_scen = p["reval"]
    book = option_book(n_opt, n_und)
    R, V = option_scenarios(n_scen, n_und)
    h = 1 / 365
    cpu_s, pnl = timed(lambda: revalue_options(book, R, V, horizon=h), p["repeats"])
    var = tail_var_es(-pnl, 0.99)[0]
    prices = n_opt * n_scen
    roof = roofline(peaks, n_scen * n_und * 16 + n_opt * 48, prices * (6 * TRANSCENDENTAL + 40))
    gpu_s = diff = None
    extra: dict[str, Any] = {"var_cpu": var}
    if dev:
        gpu_s, pg = timed(lambda: revalue_torch(book, R, V, h, dev), p["repeats"], dev)
        diff = rel_of_scale(pg, pnl)
        extra["var_rel_diff"] = abs(tail_var_es(-_np(pg), 0.99)[0] / var - 1)
    return [_row(f"full-reval VaR, {n_opt:,} options x {n_scen:,} scen.", cpu_s, gpu_s, diff,
                 "max|gpu-cpu|/max|cpu| P&L", roof,
                 "bs_price(device=) on resident chunks; unfused torch", **extra)]


def _pricer(p, ctx):
    if "pricer" not in ctx:
        from ultimate_nb.ml.multitask import bs_data, fit
        rows, epochs = p["pricer"]
        tr = bs_data(rows, np.random.default_rng(0))
        ctx["pricer"] = fit(tr["X"], tr["labels"], epochs=epochs, lr=1e-2, seed=0)
    return ctx["pricer"]


def _nn_flops(module) -> float:
    "Return 2 x the weights of the Linear layers: the multiply-adds of one row's forward pass."
    import torch
    return 2.0 * sum(m.weight.numel() for m in module.modules() if isinstance(m, torch.nn.Linear))


def row_nn(name: str, p, dev, peaks, ctx) -> list[dict]:
    import torch

    from ultimate_nb.ml.multitask import bs_data
    pricer, n = _pricer(p, ctx), p["nn_batches"][name]
    X = bs_data(n, np.random.default_rng(1))["X"]
    reps = p["repeats_b1"] if n == 1 else p["repeats"] * (20 if n <= 1_000 else 4)
    model = pricer.scaled().eval()
    xc = torch.as_tensor(X, dtype=torch.float32)

    def fwd(m, x):
        with torch.inference_mode():
            return m(x)
    cpu_s, yc = timed(lambda: fwd(model, xc), reps)
    flops = _nn_flops(pricer.net) * n
    roof = roofline(peaks, n * 4 * (3 + 5), flops, "fp32")
    gpu_s = diff = None
    extra: dict[str, Any] = {}
    if dev:
        mg = copy.deepcopy(model).to(dev)
        xg = xc.to(dev)
        gpu_s, yg = timed(lambda: fwd(mg, xg), reps, dev)
        diff = rel_of_scale(yg, yc)
        extra["gpu_numpy_in_out_s"] = timed(lambda: fwd(mg, torch.as_tensor(
            X, dtype=torch.float32).to(dev)).cpu().numpy(), reps, dev)[0]
        if n == 1 and str(dev).startswith("cuda"):
            try:
                extra["gpu_cuda_graph_s"] = _cuda_graph_time(mg, xg, reps)
            except Exception as e:       # capture can fail on some builds: keep the other numbers
                extra["gpu_cuda_graph_error"] = repr(e)
    note = "launch-bound: roofline meaningless" if n == 1 else "fp32, TF32 off (torch default)"
    return [_row(f"multi-task net inference, batch {n:,}", cpu_s, gpu_s, diff,
                 "max|gpu-cpu|/max|cpu| outputs", roof, note, **extra)]


def _cuda_graph_time(model, x, reps: int) -> float:
    "Return the median time of one CUDA-graph replay of model(x) (capture after warm-up)."
    import torch
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s), torch.inference_mode():
        for _ in range(3):
            model(x)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g), torch.inference_mode():
        model(x)
    return timed(g.replay, reps, "cuda")[0]


def row_nn_train(p, dev, peaks, ctx) -> list[dict]:
    from ultimate_nb.ml.multitask import bs_data, fit
    rows, bs = p["nn_train_rows"], p["nn_batch"]
    tr = bs_data(rows, np.random.default_rng(2))
    steps_per_epoch = -(-rows // bs)

    def step_time(device: str) -> tuple[float, Any]:
        def go(epochs):
            return fit(tr["X"], tr["labels"], epochs=epochs, lr=3e-3, batch_size=bs, seed=0,
                       device=device)
        t1, _ = timed(lambda: go(1), 1, device)
        t3, m = timed(lambda: go(3), 1, device, warm=False)
        return max(t3 - t1, 0.0) / (2 * steps_per_epoch), m
    cpu_s, mc = step_time("cpu")
    flops = 3 * _nn_flops(mc.net) * bs
    roof = roofline(peaks, bs * 4 * (3 + 5) * 3, flops, "bf16")
    gpu_s = diff = None
    if dev:
        gpu_s, mg = step_time(dev)
        Xv = bs_data(1_000, np.random.default_rng(3))["X"]
        a, b = mc.predict(Xv), mg.predict(Xv)
        diff = max(rel_of_scale(b[h], a[h]) for h in a)
    return [_row(f"multi-task net train step, batch {bs:,}", cpu_s, gpu_s, diff,
                 "max|gpu-cpu|/max|cpu| predictions after 3 epochs (bf16 on GPU)", roof,
                 "launch-bound (small net); includes Python per step", steps=steps_per_epoch * 2)]


def row_gan(p, dev, peaks, ctx) -> list[dict]:
    import torch

    from ultimate_nb.ml.generative import GANConfig, TimeSeriesGAN, load_market_returns
    n, length = p["gan"]
    R = load_market_returns().loc[:"2014"]
    cfg = GANConfig(steps=p["gan_steps"], threads=None)
    gan = TimeSeriesGAN(cfg).fit(R)
    cpu_s, xc = timed(lambda: gan.sample(n, length, state=1, seed=0), max(1, p["repeats"] // 2),
                      warm=False)
    G = gan.generator
    weights = sum(m.weight.numel() for m in G.modules()
                  if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear)))
    rf = G.rf
    flops = 2.0 * weights * n * (length + rf - 1)
    roof = roofline(peaks, n * (length + rf - 1) * 4 * (G.noise_dim + 2 * G.d), flops, "fp32")
    gpu_s = diff = None
    if dev:
        gg = copy.deepcopy(gan)
        gg.generator = gg.generator.to(dev)
        gpu_s, xg = timed(lambda: gg.sample(n, length, state=1, seed=0), max(1, p["repeats"] // 2), dev)
        diff = rel_of_scale(xg, xc)
    return [_row(f"GAN scenarios, {n:,} paths x {length} days", cpu_s, gpu_s, diff,
                 "max|gpu-cpu|/max|cpu| returns (same noise; cuDNN TF32 convs)", roof,
                 "noise drawn on the host, output copied back, 2,048 paths a chunk",
                 assets=G.d, train_steps=cfg.steps)]


RUNNERS: dict[str, Callable] = {
    "greeks": row_greeks, "iv": row_iv, "crr": row_crr, "lsm": row_lsm, "mc_var": row_mc_var,
    "reval": row_reval, "nn_train": row_nn_train, "gan": row_gan,
    **{k: (lambda k: lambda p, dev, peaks, ctx: row_nn(k, p, dev, peaks, ctx))(k) for k in NN_BATCHES},
}


# -- REPORT --
def _t(s: float | None) -> str:
    if s is None:
        return "n/a"
    return f"{s * 1e6:.1f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def _x(v: float | None, fmt: str = "{:.1f}x") -> str:
    return "n/a" if v is None else fmt.format(v)


def table(res: dict[str, Any]) -> str:
    "Return the results as a fixed-width text table with the card, peaks and notes."
    head = ("work", "CPU here", "GPU", "CPU/GPU", "max diff vs CPU", "roofline", "GPU/roofline",
            "row s")
    lines = []
    for r in res["rows"]:
        if r.get("skipped"):
            lines.append((r["work"], "skipped", "", "", r["skipped"], "", "", ""))
            continue
        lines.append((r["work"], _t(r["cpu_s"]), _t(r["gpu_s"]), _x(r["ratio"]),
                      _x(r["max_diff"], "{:.1e}"), _t(r["roofline_s"]), _x(r["over_roofline"]),
                      f"{r['row_wall_s']:.1f}"))
    w = [max(len(str(x[i])) for x in (head, *lines)) for i in range(len(head))]

    def fmt(cells) -> str:
        return "  ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i]) for i, c in enumerate(cells))
    g, pk = res["gpu"], res["peaks"]
    mem = f" ({g['memory_gb']} GB)" if g["memory_gb"] else ""
    gpu_line = (f"GPU: {g['name']}{mem}, torch {g['torch']}, CUDA {g['cuda']}" if g["name"]
                else f"GPU: none (torch {g['torch']}): GPU columns n/a")
    notes = [f"{r['work']}: {r['note']}; diff = {r['diff_what']}" +
             (f"; CUDA graph replay {_t(r['gpu_cuda_graph_s'])}" if r.get("gpu_cuda_graph_s") else "") +
             (f"; numpy in/out {_t(r['gpu_numpy_in_out_s'])}" if r.get("gpu_numpy_in_out_s") else "") +
             (f"; with host transfer {_t(r['gpu_with_transfer_s'])}" if r.get("gpu_with_transfer_s") else "")
             for r in res["rows"] if not r.get("skipped")]
    m = res["machine"]
    return "\n".join([
        f"CPU: {m['cpu_count']} CPUs, {m['processor']}, Python {m['python']}, numpy {m['numpy']}",
        gpu_line,
        f"roofline peaks ({res['card']} SXM): HBM {pk['hbm'] / 1e12:.2f} TB/s, fp64 {pk['fp64'] / 1e12:.1f} "
        f"TFLOP/s (vector), fp32 {pk['fp32'] / 1e12:.0f}, bf16 {pk['bf16'] / 1e12:.0f} (tensor); "
        f"a transcendental = {TRANSCENDENTAL:.0f} flops",
        fmt(head), "  ".join("-" * x for x in w), *map(fmt, lines), *notes])


def run(quick: bool = False, rows: str | None = None, budget_s: float | None = None) -> dict[str, Any]:
    "Run the selected rows (all by default) on the CPU and, where present, the GPU."
    p = dict(QUICK if quick else FULL)
    names = ROWS if not rows else tuple(x.strip() for x in rows.split(",") if x.strip())
    bad = [x for x in names if x not in RUNNERS]
    if bad:
        raise ValueError(f"rows must be among {ROWS}, got {bad}")
    if "iv" in names and "greeks" not in names:
        names = ("greeks",) + names          # iv prices the greeks row's options
    t0 = time.perf_counter()
    dev = gpu_device()
    info: dict[str, Any] = {"name": None, "memory_gb": None, "torch": None, "cuda": None}
    try:
        import torch
        info.update(torch=torch.__version__, cuda=torch.version.cuda)
        if dev and not dev.startswith("cuda"):    # the tests' stand-in: the torch paths on the CPU
            info.update(name=f"torch on {dev} (CUDA stand-in, not a GPU)")
        elif dev:
            pr = torch.cuda.get_device_properties(0)
            info.update(name=pr.name, memory_gb=round(pr.total_memory / 2**30, 1),
                        sm_count=pr.multi_processor_count)
    except ImportError:
        pass
    card, peaks = peaks_for(info["name"])
    ctx: dict[str, Any] = {}
    out = []
    for name in names:
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            out.append(dict(row=name, work=name, skipped=f"budget {budget_s:.0f} s spent"))
            continue
        r0 = time.perf_counter()
        try:
            got = RUNNERS[name](p, dev, peaks, ctx)
        except Exception as e:           # one GPU run is all there is: a failed row must not end it
            traceback.print_exc()
            got = [dict(work=name, skipped=f"error: {type(e).__name__}: {e}"[:200])]
        dt = time.perf_counter() - r0
        for r in got:
            r.update(row=name, row_wall_s=dt)
        out.extend(got)
        print(f"[gpu.py] {name}: {dt:.1f} s", file=sys.stderr, flush=True)
    return {"benchmark": "gpu", "quick": quick, "sizes": {k: v for k, v in p.items()},
            "machine": machine_info("numba", "torch"), "gpu": info, "card": card, "peaks": peaks,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rows": out,
            "wall_s": time.perf_counter() - t0}


def _args(ap) -> None:
    ap.add_argument("--rows", help=f"comma-separated rows to run (default all): {','.join(ROWS)}")
    ap.add_argument("--budget-s", type=float, help="skip the rows left after this many seconds")


def main(argv: list[str] | None = None) -> int:
    return main_for("gpu", run, table, argv, __doc__, _args)


if __name__ == "__main__":
    sys.exit(main())
