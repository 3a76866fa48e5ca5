"""Run one entry of pipelines/schedules.yaml: a thin wrapper of `python -m ultimate_nb.pipelines run`.

Usage: `python pipelines/run.py NAME [-p key=value ...] [--out-root DIR] [--list]`

Kept for crontabs written before the package command existed; everything (journal, metrics, HTML
report beside the executed notebook, exit codes 0/1/2) is `ultimate_nb.pipelines.runner`'s.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package

from ultimate_nb.pipelines.runner import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--list" in argv:
        sys.exit(main(["list", *[a for a in argv if a != "--list"]]))
    sys.exit(main(["run", *argv]) if argv else main(["list"]) or 2)
