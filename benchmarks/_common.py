"""What every benchmark script shares: the machine description and the command-line main.

A benchmark module defines `run(quick=False, **options) -> dict` (the results, with "wall_s") and
`table(results) -> str`, and ends with

    def main(argv=None):
        return main_for("options_greeks", run, table, argv, doc=__doc__)

`main_for` parses `--quick` and `--out` (plus any options the module adds), runs, writes the
results as JSON to `benchmarks/results/<name>.json` (`<name>.quick.json` with `--quick`) or
`--out`, and prints the table. The benchmarks set no threading or environment variables of
their own: they measure the library as a user imports it (`ultimate_nb.core.device` applies its
thread defaults on import), and `machine_info` records what was in force.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
_THREAD_VARS = ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER",
                "NUMBA_THREADING_LAYER_PRIORITY", "ULTIMATE_THREAD_DEFAULTS")


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info(*packages: str) -> dict[str, Any]:
    "Return CPU, platform, load average, numba threads and the versions of `packages` (+ numpy)."
    import numpy as np

    from ultimate_nb import __version__

    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "ultimate_nb": __version__,
        "load_average_1m": os.getloadavg()[0],
        "threads_env": {k: os.environ[k] for k in _THREAD_VARS if k in os.environ},
    }
    if "numba" in sys.modules or "numba" in packages:
        import numba

        info["numba"] = numba.__version__
        info["numba_threads"] = numba.get_num_threads()
    for p in packages:
        info.setdefault(p.lower().replace("-", "_"), _version(p))
    return info


def main_for(
    name: str,                                    # results file stem: "options_greeks"
    run: Callable[..., dict[str, Any]],           # run(quick, **options) -> results with "wall_s"
    table: Callable[[dict[str, Any]], str],       # results -> the printed table
    argv: list[str] | None = None,                # command line; None -> sys.argv[1:]
    doc: str | None = None,                       # the module docstring (first line: description)
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,  # extra options
) -> int:                                         # exit status
    "Parse --quick/--out (and extra options), run, write the JSON results and print the table."
    ap = argparse.ArgumentParser(prog=f"python benchmarks/{name}.py",
                                 description=(doc or name).strip().splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    ap.add_argument("--out", type=Path, help="JSON output path")
    if add_arguments is not None:
        add_arguments(ap)
    a = vars(ap.parse_args(argv))
    quick, out = a.pop("quick"), a.pop("out")
    res = run(quick, **a)
    out = out or RESULTS / f"{name}{'.quick' if quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(table(res))
    print(f"wall {res['wall_s']:.1f} s; wrote {out}")
    return 0
