"""Fail when a notebook is not nbdev-clean, or `nbdev-export` would change `ultimate_nb/`, or README.md is stale.

Hashes nbs/ and ultimate_nb/, runs nbdev-export and nbdev-clean, hashes again. Any difference
means the committed library or notebooks were out of sync; the files are left in their fixed
state so `git diff` shows what to commit.
"""
import hashlib, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def snapshot() -> dict[str, str]:
    files = [*ROOT.glob("nbs/**/*.ipynb"), *ROOT.glob("ultimate_nb/**/*.py"), ROOT / "README.md"]
    return {
        str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files
        if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts
    }


def main() -> int:
    before = snapshot()
    for cmd in ("nbdev-export", "nbdev-clean"):
        subprocess.run([str(BIN / cmd)], cwd=ROOT, check=True)
    subprocess.run([sys.executable, str(ROOT / ".ci" / "readme.py")], cwd=ROOT, check=True)
    after = snapshot()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        print("notebooks/library out of sync; nbdev-export/nbdev-clean changed:", file=sys.stderr)
        for name in changed:
            print(f"  {name}", file=sys.stderr)
        print("review with `git diff` and commit the result", file=sys.stderr)
        return 1
    print(f"notebooks clean and library in sync ({len(after)} files checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
