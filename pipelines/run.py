"""Run one entry of pipelines/schedules.yaml with papermill.

Usage: `python pipelines/run.py NAME [-p key=value ...] [--out-root DIR] [--list]`

The executed notebook goes to `<out-root>/<name>/<UTC timestamp>.ipynb` (default out-root:
`var/pipelines` in the repository). Values given with `-p` are parsed as YAML (`-p hours=0.5`,
`-p symbols=[AAPL,SPY]`, `-p symbols=null`) and override the entry's parameters. The kernel runs in
the repository root, so relative paths in parameters are relative to it. Exit codes: 0 success,
1 the notebook failed, 2 bad usage (unknown name, malformed parameter, bad schedules file).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCHEDULES = HERE / "schedules.yaml"


def load_schedules(path: Path = SCHEDULES) -> dict[str, dict[str, Any]]:
    "Return the schedule entries of `path` by name."
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("schedules")
    if not isinstance(entries, list):
        raise ValueError(f"{path}: 'schedules' must be a list, was {type(entries).__name__}")
    out: dict[str, dict[str, Any]] = {}
    for i, e in enumerate(entries):
        missing = [k for k in ("name", "notebook", "cron") if not isinstance(e, dict) or k not in e]
        if missing:
            raise ValueError(f"{path}: entry {i} lacks {', '.join(missing)}")
        if e["name"] in out:
            raise ValueError(f"{path}: duplicate name {e['name']!r}")
        if len(str(e["cron"]).split()) != 5:
            raise ValueError(
                f"{path}: entry {e['name']!r} cron must have 5 fields, was {e['cron']!r}"
            )
        out[e["name"]] = {**e, "parameters": dict(e.get("parameters") or {})}
    return out


def parse_params(pairs: list[str]) -> dict[str, Any]:
    "Return {key: YAML value} from `key=value` strings."
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"parameter must look like key=value, was {pair!r}")
        out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    return out


def run(
    name: str,
    overrides: dict[str, Any] | None = None,
    out_root: Path | None = None,
    schedules: Path = SCHEDULES,
) -> Path:
    "Execute schedule entry `name` with papermill; return the executed notebook's path."
    import papermill as pm

    entries = load_schedules(schedules)
    if name not in entries:
        raise KeyError(f"unknown schedule {name!r}; known: {', '.join(entries)}")
    entry = entries[name]
    params = {**entry["parameters"], **(overrides or {})}
    out_dir = Path(out_root or ROOT / "var" / "pipelines") / name
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    output = out_dir / f"{stamp}.ipynb"
    n = 1
    while output.exists():
        output, n = out_dir / f"{stamp}-{n}.ipynb", n + 1
    print(f"running {name}: {entry['notebook']} -> {output}", file=sys.stderr)
    pm.execute_notebook(
        schedules.parent / entry["notebook"],
        output,
        parameters=params,
        kernel_name="python3",
        cwd=str(ROOT),
        progress_bar=False,
    )
    return output


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python pipelines/run.py", description=__doc__.splitlines()[0])
    p.add_argument("name", nargs="?", help="schedule entry to run")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a notebook parameter (YAML value), repeatable",
    )
    p.add_argument(
        "--out-root", type=Path, help="folder for executed notebooks (default var/pipelines)"
    )
    p.add_argument("--list", action="store_true", help="list the schedule entries and exit")
    a = p.parse_args(argv)
    try:
        entries = load_schedules()
        if a.list or a.name is None:
            for e in entries.values():
                desc = e.get("description", "")
                print(f"{e['name']:<20} {e['cron']:<16} {e['notebook']:<20} {desc}")
            return 0 if a.list else 2
        output = run(a.name, parse_params(a.param), a.out_root)
    except (KeyError, ValueError, OSError, yaml.YAMLError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    except Exception as e:  # papermill's execution error names the failing cell
        print(f"error: pipeline {a.name!r} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
