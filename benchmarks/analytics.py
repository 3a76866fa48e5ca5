"""The analytics benchmark of issue 7 in one run: features (batch and streaming) and portfolio solvers.

Runs `analytics_features.py` then `analytics_portfolio.py` in this process, each printing its table
(ours, the reference, the ratio) and writing its JSON under benchmarks/results/.
`--quick` passes through to both for a smoke run.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import analytics_features  # noqa: E402
import analytics_portfolio  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = ["--quick"] if "--quick" in argv else []
    print("== features: 20 years x 10 assets, per-bar streaming latency ==")
    rc = analytics_features.main(quick)
    print("\n== portfolio: optimiser solve times, 500 assets ==")
    return rc or analytics_portfolio.main(quick)


if __name__ == "__main__":
    sys.exit(main())
