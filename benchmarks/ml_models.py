"""Benchmark the deep models of `ultimate_nb.ml`: multi-task pricer inference and generative scenarios.

Usage: `python benchmarks/ml_models.py [--quick] [--out PATH]`

  multitask   inference latency of a trained `ultimate_nb.ml.multitask.MultiTaskPricer` (price,
              delta, gamma, vega, theta for Black-Scholes inputs S, T, sigma) for a batch of 1 and
              of 10,000 option states: the torch module under `inference_mode` and its TorchScript
              trace, on the CPU (and on CUDA when present)  vs  computing the same five outputs with
              `ultimate_nb.options.greeks.bs_greeks(..., order=2)` (numba). The model's accuracy on
              the benchmark inputs (RMSE of each output as a fraction of its largest value) is
              reported beside the timing (worst of the five outputs on the 10,000 states): a fast wrong
              model is no result.
  generative  `generative_rows(quick)`: scenarios (paths) per second of the GAN of
              `ultimate_nb.ml.generative` and of its Gaussian, block-bootstrap and GARCH-t baselines
              (`benchmark_generators`). The full run trains the shipped default model
              (`GANConfig()`, its training seconds in `train_s`) and times 10,000 paths of 250 days;
              `--quick` trains a tiny model (plumbing only, not the shipped model's speed).

Timings are wall clock (`time.perf_counter`) after warm-up, the median over repetitions.
Prints a table and writes JSON (default `benchmarks/results/ml_models.json`, or
`ml_models.quick.json` with `--quick`).
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ultimate_nb import __version__
from ultimate_nb.ml.multitask import HEADS, bs_data, fit
from ultimate_nb.options.greeks import bs_greeks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

FULL = dict(n_train=4096, epochs=400, reps_1=2000, reps_big=50)
QUICK = dict(n_train=256, epochs=30, reps_1=100, reps_big=5)
BATCHES = (1, 10_000)


def _median_time(fn: Callable[[], Any], reps: int) -> float:
    fn(); fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


# -- MULTITASK --
def multitask_rows(quick: bool) -> list[dict]:
    "Return latency rows for the multi-task pricer vs `bs_greeks` at batch 1 and 10,000."
    cfg = QUICK if quick else FULL
    tr = bs_data(cfg["n_train"], np.random.default_rng(0))
    pricer = fit(tr["X"], tr["labels"], tr["dprice_dx"], epochs=cfg["epochs"], lr=1e-2, seed=0)
    ts = pricer.to_torchscript()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    # accuracy once, on the 10,000-state set: RMSE of each output over its largest value, worst output
    big = bs_data(max(BATCHES), np.random.default_rng(1))
    pred = pricer.predict(big["X"])
    acc = max(float(np.sqrt(np.mean((pred[h] - big["labels"][h]) ** 2)) / np.abs(big["labels"][h]).max())
              for h in HEADS)
    rows = []
    for n in BATCHES:
        d = bs_data(n, np.random.default_rng(1))
        X, reps = d["X"], cfg["reps_1"] if n == 1 else cfg["reps_big"]
        S, T, sig = X[:, 0].copy(), X[:, 1].copy(), X[:, 2].copy()
        ref_t = _median_time(lambda: bs_greeks(S, 1.0, T, 0.02, sig, 0.0, "call", order=2), reps)
        rows.append(dict(model="multitask", impl="options.greeks bs_greeks order=2 (numba)", device="cpu",
                         batch=n, seconds=ref_t, per_option_us=ref_t / n * 1e6, speedup_vs_greeks=1.0,
                         max_rel_rmse=0.0))
        for dev in devices:
            model = pricer.scaled().to(dev).eval()
            tsd = ts.to(dev)
            xt = torch.as_tensor(X, dtype=torch.float32, device=dev)
            sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
            for name, m in [("torch module", model), ("TorchScript", tsd)]:
                def run(m=m):
                    with torch.inference_mode():
                        m(xt)
                    sync()
                t = _median_time(run, reps)
                rows.append(dict(model="multitask", impl=name, device=dev, batch=n, seconds=t,
                                 per_option_us=t / n * 1e6, speedup_vs_greeks=ref_t / t, max_rel_rmse=acc))
    return rows


# -- GENERATIVE --
def generative_rows(quick: bool) -> list[dict]:
    "Return scenario-throughput rows of the GAN and its baselines (`benchmark_generators`)."
    import ultimate_nb.ml.generative as gen
    rows = []
    for r in gen.benchmark_generators(quick):
        # r["model"] names the generator timed (the GAN's config); "model" here is the benchmark section
        rows.append({**r, "config": r["model"], "model": "generative",
                     "impl": f"{r['name']} ({r['length']}-day paths)", "batch": r["n_paths"],
                     "per_option_us": 1e6 / r["scenarios_per_s"]})
    return rows


# -- REPORT --
def table(res: dict[str, Any]) -> str:
    "Return the multitask and generative rows as a fixed-width text table."
    head = (f"{'model':<11}{'implementation':<44}{'device':<7}{'batch':>7}{'seconds':>12}"
            f"{'us/item':>11}{'vs greeks':>10}{'rel rmse':>10}")
    lines = [head, "-" * len(head)]
    for r in res["multitask"] + res["generative"]:
        lines.append(f"{r['model']:<11}{r['impl']:<44}{r['device']:<7}{r['batch']:>7}{r['seconds']:>12.3g}"
                     f"{r['per_option_us']:>11.3g}{r.get('speedup_vs_greeks', float('nan')):>10.3g}"
                     f"{r.get('max_rel_rmse', float('nan')):>10.2g}")
    lines.append("us/item: per option state (multitask) or per simulated path (generative)")
    return "\n".join(lines)


def run(quick: bool = False) -> dict[str, Any]:
    "Time the multi-task pricer and the generators; return the results."
    t0 = time.perf_counter()
    mt, gen = multitask_rows(quick), generative_rows(quick)
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return dict(benchmark="ml_models", quick=quick, version=__version__,
                date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                machine=machine_info("torch") | dict(torch=torch.__version__,
                                                     torch_threads=torch.get_num_threads(), cuda=cuda),
                multitask=mt, generative=gen, wall_s=time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    return main_for("ml_models", run, table, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
