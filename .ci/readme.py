"""Write README.md from nbs/index.ipynb, as `nbdev-readme` would.

`nbdev-readme` renders through the Quarto binary, which these machines cannot install (the PyPI
`quarto-cli` package downloads it while building). This renders the same thing in plain Python:
markdown cells verbatim, code cells that are not `#| hide` as python blocks with their text outputs.
"""
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def render(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    parts = [f"<!-- generated from {nb_path.relative_to(ROOT)} by .ci/readme.py: edit the notebook -->"]
    for cell in nb.cells:
        src = cell.source.strip()
        lines = src.splitlines()
        directives = [l for l in lines if l.startswith("#|")]
        if any(d.split()[1:2] in (["hide"], ["exporti"]) for d in directives if len(d.split()) > 1):
            continue
        body = "\n".join(l for l in lines if not l.startswith("#|")).strip()
        if not body:
            continue
        if cell.cell_type == "markdown":
            parts.append(body)
            continue
        parts.append(f"```python\n{body}\n```")
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain")
            if text:
                parts.append("    " + "".join(text).rstrip().replace("\n", "\n    "))
    return "\n\n".join(parts) + "\n"


def main() -> int:
    (ROOT / "README.md").write_text(render(ROOT / "nbs" / "index.ipynb"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
