"""README's layout names every module of the package (a newcomer's map must be whole)."""
from pathlib import Path

import pytest

#: Pure logic: no Java, no cluster (`pytest -m unit`).
pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent


def test_the_layout_names_every_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    modules = [p.name for p in (ROOT / "knit").glob("*.py") if p.name != "__init__.py"]
    missing = [m for m in modules if m not in layout]
    dask_modules = [p.name for p in (ROOT / "knit" / "dask").glob("*.py") if p.name != "__init__.py"]
    missing += [f"dask/{m}" for m in dask_modules if m not in layout]
    assert not missing, f"README's Layout does not name {missing}"
