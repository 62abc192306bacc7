"""Sphinx configuration of knit's docs site: ``bash scripts/docs.sh`` builds it."""
from __future__ import annotations

import importlib
import os
import sys

# Document the checkout this file belongs to, not another installed copy of knit.
sys.path.insert(0, os.path.abspath(".."))

import knit  # noqa: E402

project = "knit"
author = "knit's developers"
copyright = "knit's developers"
release = knit.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "sphinx_click",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"

# The markdown pages link to each other's headings as GitHub does (page.md#a-heading).
myst_heading_anchors = 4

autosummary_generate = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# The pages list members with autodoc's :members:; numpydoc's own member tables would
# repeat them.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "pydata_sphinx_theme"
html_title = f"knit {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
# Only the API reference has sub-pages to list beside the page ("*" is one path level).
html_sidebars = {"*": [], "api/*": ["sidebar-nav-bs"]}
html_show_sourcelink = False

# Every name a public package exports (its __all__) must be documented somewhere on the
# site: checked at the end of reading, so -W fails the build when one is left out.
_PUBLIC_PACKAGES = ("knit", "knit.dask")


def _check_exports(app, env) -> None:
    from sphinx.util import logging as sphinx_logging
    logger = sphinx_logging.getLogger(__name__)
    documented = set(env.get_domain("py").objects)
    for package in _PUBLIC_PACKAGES:
        for name in importlib.import_module(package).__all__:
            if f"{package}.{name}" not in documented:
                logger.warning("%s.%s is exported (%s.__all__) but not in the API reference",
                               package, name, package)


def setup(app) -> None:
    app.connect("env-check-consistency", _check_exports)
