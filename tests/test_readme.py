"""README.md states what exists: its module map lists every module of the package, each with the
notebook that exports it, and names no module or notebook that does not exist."""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import ultimate_nb

REPO = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\|[^|]*\|\s*`(ultimate_nb\.[\w.]+)`\s*\|\s*`(nbs/[\w./-]+\.ipynb)`\s*\|", re.M)


def readme_map() -> dict[str, str]:
    return dict(ROW.findall((REPO / "README.md").read_text()))


def package_modules() -> set[str]:
    return {
        m.name
        for m in pkgutil.walk_packages(ultimate_nb.__path__, "ultimate_nb.")
        if not m.ispkg and m.name != "ultimate_nb._modidx"
    }


def test_readme_module_map_lists_every_module_and_only_those():
    listed = readme_map()
    assert set(listed) == package_modules(), (
        f"missing from README: {sorted(package_modules() - set(listed))}; "
        f"listed but absent: {sorted(set(listed) - package_modules())}"
    )


def test_readme_notebooks_exist_and_export_the_module_named():
    for module, nb in readme_map().items():
        path = REPO / nb
        assert path.is_file(), nb
        exp = module.removeprefix("ultimate_nb.")
        assert f"default_exp {exp}" in path.read_text(), f"{nb} does not export {module}"


def test_readme_does_not_point_outside_the_repository():
    assert "../shared" not in (REPO / "README.md").read_text()


def test_make_targets_the_readme_names_exist():
    readme, makefile = (REPO / "README.md").read_text(), (REPO / "Makefile").read_text()
    named = set(re.findall(r"`make ([a-z][\w-]*)", readme))
    assert {"live", "test", "lab"} <= named, named
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    assert named <= targets, f"README names make targets the Makefile lacks: {sorted(named - targets)}"
    assert '"jupyterlab' in (REPO / "pyproject.toml").read_text()     # `make lab` needs it in dev
