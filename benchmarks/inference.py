"""Benchmark `ultimate_nb.ml.inference.InferenceServer` on the multi-task pricing network at batch 1.

Usage: `python benchmarks/inference.py [--quick] [--isolated [--core N]] [--out PATH]`

  latency     p50 / p99 / mean of one call with one option state ([S, T, sigma] -> price, delta,
              gamma, vega, theta), in microseconds, all in this one run:
                direct calls a user would write instead: the torch module under `inference_mode`,
                its TorchScript trace, an ONNX Runtime `InferenceSession.run` (same session
                options as the server: 1 intra-op thread, all graph optimisations);
                through the server: `predict` (sync) on ONNX Runtime and on TorchScript with the
                cache off (validation, breaker, metrics included), `predict` answered from the
                cache, and `predict_async` from one client (micro-batcher on, queue quiet).
              Direct calls get float32 rows prepared in advance; the server takes float64 rows
              and converts them, as a strategy would pass them.
  throughput  requests per second from 4 concurrent asyncio clients, each sending batch-1
              requests one after another through `predict_async`: micro-batching on
              (max_batch 32, max_wait_us 200) vs off (max_batch 1, max_wait_us 0); with the mean
              rows per backend call and the p50 / p99 request latency. The two servers take
              turns (10 rounds each) so that both see the same load.

Timings are wall clock (`time.perf_counter_ns`) after warm-up. torch runs on the threads it has
as imported (`machine.torch_threads`; results written before this script used the shared
scaffolding pinned it to 1), ONNX Runtime on the server's 1 intra-op thread. The latency rows are
interleaved (each implementation once per round) so that all see the same load. The machine may
be shared, so every section records the load it ran under: the 1-minute load average and the number
of runnable processes (`procs_running` of /proc/stat, this one included), sampled ten times while it
ran (min / median / max), and the table prints them next to the p99.

  --isolated  pins the process to one core (`os.sched_setaffinity`, the last allowed core or
              `--core N`; torch to 1 thread) and then repeats blocks of batch-1 calls (server
              `predict` on ONNX Runtime and the direct `session.run`, interleaved) until the
              server's p99 is stable: the last 3 blocks' p99 within 10% of their median (at most
              30 blocks). Pinning keeps this process on one core and off the other; it does not
              keep other processes off that core (that needs `isolcpus`/cpusets), which is why the
              runnable count and this thread's involuntary context switches (preemptions, from
              `getrusage`) are reported with each block: a call that is preempted waits for the
              scheduler to come back (a tick is 4 ms at HZ=250), so once more than 1% of calls are
              preempted the p99 measures the scheduler, not the model.
Prints a table and writes JSON (default `benchmarks/results/inference.json`, or
`inference.quick.json` with `--quick`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from ultimate_nb import __version__
from ultimate_nb.ml.inference import (
    InferenceServer, InferenceSettings, OrtBackend, export_onnx, load_backend,
)
from ultimate_nb.ml.multitask import bs_data, fit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

FULL = dict(n_train=1024, epochs=150, reps=20_000, warm=500, requests_per_client=5_000, rounds=10,
            block_reps=5_000, max_blocks=30, window=3, stable_rel=0.10)
QUICK = dict(n_train=256, epochs=5, reps=300, warm=50, requests_per_client=100, rounds=2,
             block_reps=200, max_blocks=3, window=2, stable_rel=0.10)
CLIENTS = 4
GOAL_P99_US = 1000.0


def _stats(ns: list[int]) -> dict:
    a = np.asarray(ns, dtype=np.float64) / 1e3
    return dict(p50_us=float(np.percentile(a, 50)), p99_us=float(np.percentile(a, 99)),
                mean_us=float(a.mean()), over_1ms_pct=float((a > 1000).mean() * 100), n=len(a))


def _preemptions() -> int | None:
    "Return this thread's involuntary context switches so far (None where getrusage lacks them)."
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw
    except (ImportError, AttributeError, OSError):
        return None


def load_now() -> dict:
    "Return the 1-minute load average and the runnable processes now (None off Linux)."
    running = None
    try:
        with open("/proc/stat") as f:
            running = next(int(line.split()[1]) for line in f if line.startswith("procs_running"))
    except (OSError, StopIteration, ValueError):
        pass
    return dict(loadavg_1m=os.getloadavg()[0], procs_running=running)


def load_summary(samples: list[dict]) -> dict:
    "Return min / median / max of the load samples taken while a section ran."
    out = {}
    for k in ("loadavg_1m", "procs_running"):
        v = [s[k] for s in samples if s[k] is not None]
        out[k] = dict(min=min(v), median=float(np.median(v)), max=max(v)) if v else None
    out["samples"] = len(samples)
    return out


def latency_rows(cfg: dict, pricer: Any, onnx_file: Path, ts_file: Path, X: np.ndarray,
                 load: list[dict]) -> list[dict]:
    "Return batch-1 latency rows: direct torch, TorchScript and ONNX Runtime calls vs the server."
    n, X32 = len(X), X.astype(np.float32)
    rows32 = [X32[i:i + 1] for i in range(n)]
    module, ts = pricer.scaled().eval(), load_backend(ts_file).module     # torch.jit.load
    sess = OrtBackend(onnx_file).session

    def torch_call(m):
        def call(i):
            with torch.inference_mode():
                return m(torch.from_numpy(rows32[i % n])).numpy()
        return call

    srv = InferenceServer(InferenceSettings(cache_size=0))
    srv.load("pricer", onnx_file, fallback="bs_greeks")
    srv.load("pricer_ts", ts_file, fallback="bs_greeks")
    cached = InferenceServer(InferenceSettings(cache_size=1024))
    cached.load("pricer", onnx_file)
    calls = [
        ("torch module (direct)", "direct", torch_call(module)),
        ("TorchScript (direct)", "direct", torch_call(ts)),
        ("ONNX Runtime session.run (direct)", "direct", lambda i: sess.run(None, {"x": rows32[i % n]})[0]),
        ("server.predict, onnxruntime", "sync", lambda i: srv.predict("pricer", X[i % n:i % n + 1])),
        ("server.predict, torchscript", "sync", lambda i: srv.predict("pricer_ts", X[i % n:i % n + 1])),
        ("server.predict, cache hit", "sync", lambda i: cached.predict("pricer", X[i % 64:i % 64 + 1])),
    ]

    async def measure():
        # interleaved: every implementation is timed once per round, so all see the same load
        ns = [[] for _ in range(len(calls) + 1)]
        every = max((cfg["warm"] + cfg["reps"]) // 10, 1)
        try:
            for i in range(cfg["warm"] + cfg["reps"]):
                if i % every == 0:
                    load.append(load_now())
                for k, (_, _, fn) in enumerate(calls):
                    t0 = time.perf_counter_ns(); fn(i); ns[k].append(time.perf_counter_ns() - t0)
                t0 = time.perf_counter_ns()
                await srv.predict_async("pricer", X[i % n:i % n + 1])
                ns[-1].append(time.perf_counter_ns() - t0)
        finally:
            await srv.stop()
        return [v[cfg["warm"]:] for v in ns]

    ns = asyncio.run(measure())
    names = [(c[0], c[1]) for c in calls] + [("server.predict_async, onnxruntime, 1 client", "async")]
    return [dict(impl=name, path=path, **_stats(v)) for (name, path), v in zip(names, ns)]


async def _clients(srv: InferenceServer, X: np.ndarray, per_client: int, lat: list[int]) -> float:
    "Run 4 clients sending `per_client` batch-1 requests each; return the seconds it took."
    n = len(X)

    async def client(c: int):
        for i in range(per_client):
            j = (c * 7919 + i) % n
            t0 = time.perf_counter_ns()
            await srv.predict_async("pricer", X[j:j + 1])
            lat.append(time.perf_counter_ns() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(CLIENTS)))
    return time.perf_counter() - t0


def throughput_rows(cfg: dict, onnx_file: Path, X: np.ndarray, load: list[dict]) -> list[dict]:
    "Return requests/s from 4 concurrent async clients with micro-batching on and off (rounds alternate)."
    configs = [("batching on (max_batch 32, max_wait_us 200)", dict(max_batch=32, max_wait_us=200)),
               ("batching off (max_batch 1)", dict(max_batch=1, max_wait_us=0))]
    servers = []
    for _, st in configs:
        srv = InferenceServer(InferenceSettings(cache_size=0, **st))
        srv.load("pricer", onnx_file)
        servers.append(srv)
    rounds, per = cfg["rounds"], cfg["requests_per_client"] // cfg["rounds"]
    seconds, lat = [0.0] * len(configs), [[] for _ in configs]

    async def run():
        try:
            for srv in servers:                                        # warm-up
                await _clients(srv, X, max(per // 10, 10), [])
            for _ in range(rounds):
                load.append(load_now())
                for k, srv in enumerate(servers):
                    seconds[k] += await _clients(srv, X, per, lat[k])
        finally:
            for srv in servers:
                await srv.stop()

    asyncio.run(run())
    out = []
    for (label, _), srv, sec, ns in zip(configs, servers, seconds, lat):
        reg = srv.metrics.registry
        rows = reg.get_sample_value("ultimate_inference_batch_size_sum", {"model": "pricer"})
        calls = reg.get_sample_value("ultimate_inference_batch_size_count", {"model": "pricer"})
        out.append(dict(impl=label, clients=CLIENTS, requests=len(ns), seconds=sec,
                        requests_per_s=len(ns) / sec, mean_batch=rows / calls, **_stats(ns)))
    return out


def stable_p99(cfg: dict, onnx_file: Path, X: np.ndarray) -> dict:
    "Repeat blocks of batch-1 calls until the server's p99 is stable; return the blocks and the verdict."
    n, X32 = len(X), X.astype(np.float32)
    srv = InferenceServer(InferenceSettings(cache_size=0))
    srv.load("pricer", onnx_file, fallback="bs_greeks")
    sess = OrtBackend(onnx_file).session
    for i in range(cfg["warm"]):
        srv.predict("pricer", X[i % n:i % n + 1]); sess.run(None, {"x": X32[i % n:i % n + 1]})
    blocks, w = [], cfg["window"]
    for b in range(cfg["max_blocks"]):
        before, ns_srv, ns_dir, pre = load_now(), [], [], _preemptions()
        for i in range(cfg["block_reps"]):
            j = (b * cfg["block_reps"] + i) % n
            t0 = time.perf_counter_ns(); srv.predict("pricer", X[j:j + 1]); t1 = time.perf_counter_ns()
            sess.run(None, {"x": X32[j:j + 1]}); t2 = time.perf_counter_ns()
            ns_srv.append(t1 - t0); ns_dir.append(t2 - t1)
        after, post = load_now(), _preemptions()
        s, d = _stats(ns_srv), _stats(ns_dir)
        blocks.append(dict(block=b, server_p50_us=s["p50_us"], server_p99_us=s["p99_us"],
                           direct_p50_us=d["p50_us"], direct_p99_us=d["p99_us"],
                           over_1ms_pct=s["over_1ms_pct"], loadavg_1m=after["loadavg_1m"],
                           preemptions=None if pre is None else post - pre,
                           procs_running=[before["procs_running"], after["procs_running"]]))
        last = [x["server_p99_us"] for x in blocks[-w:]]
        if len(blocks) >= w and max(last) - min(last) <= cfg["stable_rel"] * float(np.median(last)):
            break
    last = blocks[-w:]
    p99 = float(np.median([x["server_p99_us"] for x in last]))
    stable = len(blocks) >= w and (max(x["server_p99_us"] for x in last) - min(x["server_p99_us"] for x in last)
                                   <= cfg["stable_rel"] * p99)
    return dict(blocks=blocks, block_reps=cfg["block_reps"], window=w, stable_rel=cfg["stable_rel"], stable=stable,
                p99_server_us=p99, p99_direct_us=float(np.median([x["direct_p99_us"] for x in last])),
                p99_below_1ms=p99 < GOAL_P99_US)


def _load_text(d: dict | None) -> str:
    if not d or d["procs_running"] is None:
        return "load n/a"
    la, pr = d["loadavg_1m"], d["procs_running"]
    return (f"load avg {la['min']:.1f}-{la['max']:.1f}, runnable {pr['min']}-{pr['max']} "
            f"(median {pr['median']:.0f})")


def table(res: dict[str, Any]) -> str:
    "Return both tables as fixed-width text, and the goals."
    head = f"{'batch-1 latency':<48}{'p50 us':>10}{'p99 us':>10}{'mean us':>10}{'% > 1 ms':>10}"
    lines = [head, "-" * len(head)]
    lines += [f"{r['impl']:<48}{r['p50_us']:>10.1f}{r['p99_us']:>10.1f}{r['mean_us']:>10.1f}"
              f"{r['over_1ms_pct']:>10.2f}" for r in res["latency"]]
    lines.append(f"  measured under {_load_text(res['load']['latency'])}")
    head = f"{'4 async clients, batch-1 requests':<48}{'req/s':>10}{'rows/call':>10}{'p50 us':>10}{'p99 us':>10}"
    lines += ["", head, "-" * len(head)]
    lines += [f"{r['impl']:<48}{r['requests_per_s']:>10.0f}{r['mean_batch']:>10.2f}{r['p50_us']:>10.1f}"
              f"{r['p99_us']:>10.1f}" for r in res["throughput"]]
    lines.append(f"  measured under {_load_text(res['load']['throughput'])}")
    m, g = res["machine"], res["goals"]
    lines.append(f"load average at start {m['loadavg_at_start'][0]:.2f} on {m['cpu_count']} CPUs, torch on "
                 f"{m['torch_threads']} threads; goal p99 < 1 ms (sync, onnxruntime): {g['p99_below_1ms']} "
                 f"(direct ORT p99 {g['p99_direct_onnxruntime_us']:.0f} us in the same rounds); "
                 f"batching speedup x{g['batching_speedup']:.2f}")
    if res.get("isolated"):
        iso = res["isolated"]
        head = (f"{'isolated: pinned to core ' + str(iso['core']) + ', blocks of ' + str(iso['block_reps']):<48}"
                f"{'srv p99':>10}{'ORT p99':>10}{'% > 1 ms':>10}{'preempted':>10}{'load avg':>10}{'runnable':>10}")
        lines += ["", head, "-" * len(head)]
        lines += [f"{'block ' + str(b['block']):<48}{b['server_p99_us']:>10.1f}{b['direct_p99_us']:>10.1f}"
                  f"{b['over_1ms_pct']:>10.2f}{str(b['preemptions']):>10}{b['loadavg_1m']:>10.2f}"
                  f"{str(b['procs_running']):>10}" for b in iso["blocks"]]
        lines.append(f"  p99 {'stable' if iso['stable'] else 'NOT stable'} (last {iso['window']} blocks within "
                     f"{iso['stable_rel']:.0%}): server {iso['p99_server_us']:.0f} us, direct ORT "
                     f"{iso['p99_direct_us']:.0f} us; below 1 ms: {iso['p99_below_1ms']}")
    return "\n".join(lines)


def run(quick: bool = False, isolated: bool = False, core: int | None = None) -> dict[str, Any]:
    "Train a small pricer, export it, time the latency and throughput rows (and the isolated blocks)."
    if not isolated:
        return _run(quick, None)
    allowed = os.sched_getaffinity(0)
    core = max(allowed) if core is None else int(core)
    if core not in allowed:
        raise ValueError(f"core must be one of the allowed CPUs {sorted(allowed)}, was {core}")
    _pin({core})                     # threads stay as core.device set them: run with OMP_NUM_THREADS=1 to match
    try:
        return _run(quick, core)
    finally:
        _pin(allowed)


def _pin(cpus: set[int]) -> None:
    "Set the CPU affinity of every thread of this process (threads started earlier keep theirs otherwise)."
    os.sched_setaffinity(0, cpus)
    for tid in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else []:
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:                  # a thread that ended meanwhile
            pass


def _run(quick: bool, core: int | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    cfg = QUICK if quick else FULL
    load = os.getloadavg()
    samples: dict[str, list[dict]] = {"latency": [], "throughput": []}
    tr = bs_data(cfg["n_train"], np.random.default_rng(0))
    pricer = fit(tr["X"], tr["labels"], epochs=cfg["epochs"], lr=1e-2, seed=0)
    X = bs_data(1024, np.random.default_rng(1))["X"]
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file, ts_file = Path(tmp) / "pricer.onnx", Path(tmp) / "pricer.ts"
        check = export_onnx(pricer, onnx_file, X)
        pricer.to_torchscript(ts_file)
        lat = latency_rows(cfg, pricer, onnx_file, ts_file, X, samples["latency"])
        thr = throughput_rows(cfg, onnx_file, X, samples["throughput"])
        iso = None if core is None else dict(core=core, affinity=sorted(os.sched_getaffinity(0)),
                                             **stable_p99(cfg, onnx_file, X))
    sync = next(r for r in lat if r["impl"] == "server.predict, onnxruntime")
    direct = next(r for r in lat if r["impl"] == "ONNX Runtime session.run (direct)")
    on, off = thr
    goals = dict(p99_sync_onnxruntime_us=sync["p99_us"], p99_below_1ms=sync["p99_us"] < GOAL_P99_US,
                 p99_direct_onnxruntime_us=direct["p99_us"],
                 batching_speedup=on["requests_per_s"] / off["requests_per_s"],
                 batching_faster=on["requests_per_s"] > off["requests_per_s"])
    machine = machine_info("torch", "onnxruntime") | dict(
        loadavg_at_start=list(load), torch=torch.__version__, onnxruntime=ort.__version__,
        torch_threads=torch.get_num_threads(), ort_intra_op_threads=InferenceSettings().intra_op_threads,
        note="shared machine: other jobs may run during the measurement; see load")
    return dict(benchmark="inference", quick=quick, version=__version__,
                date=datetime.now(timezone.utc).isoformat(timespec="seconds"), machine=machine,
                onnx_check=check, latency=lat, throughput=thr, goals=goals,
                load={k: load_summary(v) for k, v in samples.items()}, isolated=iso,
                wall_s=time.perf_counter() - t0)


def _arguments(ap) -> None:
    ap.add_argument("--isolated", action="store_true",
                    help="pin to one core and repeat batch-1 blocks until the p99 is stable")
    ap.add_argument("--core", type=int, default=None, help="the core for --isolated (default: the last allowed)")


def main(argv: list[str] | None = None) -> int:
    return main_for("inference", run, table, argv, __doc__, _arguments)


if __name__ == "__main__":
    sys.exit(main())
