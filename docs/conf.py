"""Sphinx configuration of the braindecode-m2s documentation.

The stack is braindecode's and MOABB's: pydata-sphinx-theme, sphinx-gallery
over ``examples/``, numpydoc, sphinxcontrib-bibtex, and MyST for the markdown
pages. The build and the pages are offline: no intersphinx inventory and no
remote image is fetched, MathJax is served from the build's own ``_static``
(the files of ``sphinx-mathjax-offline``), the Graphviz diagrams are committed SVGs
(``docs/diagrams/``, see ``sphinxext/m2s_diagrams.py``), and the gallery runs
every example on fixture or synthetic data.

Build with ``sphinx-build -W -b html docs docs/_build/html`` from the
repository root (``-W``: warnings are errors, as in CI).
"""

import importlib.util
import os
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "sphinxext"))

# The gallery runs every example on fixture data: no dataset folder from the
# environment or the MNE config of the machine building the docs (an empty
# value in the environment takes precedence over MNE's config file).
for _code in ("SEED", "SEEDIV", "SEEDV", "SEEDVII", "DEAP", "DREAMER"):
    os.environ[f"MNE_DATASETS_{_code}_PATH"] = ""
os.environ.setdefault("MPLBACKEND", "Agg")
# tiny models: one thread is as fast as two, and much faster on a busy machine
os.environ.setdefault("OMP_NUM_THREADS", "1")

import braindecode_m2s  # noqa: E402

# m2s_docs turns these non-numpydoc headings into rubrics before numpydoc
# parses the docstrings (their text is rendered); numpydoc still notes them
warnings.filterwarnings(
    "ignore", message=r"Unknown section (Dataset Card|Shapes)", category=UserWarning
)

# -- project -----------------------------------------------------------------
project = "braindecode-m2s"
author = "braindecode-m2s developers"
copyright = "2025, braindecode-m2s developers"
release = braindecode_m2s.__version__
version = ".".join(release.split(".")[:2])

# -- extensions --------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinxcontrib.bibtex",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "m2s_docs",
    "m2s_diagrams",  # the ``dot-diagram`` directive: pre-rendered Graphviz SVGs
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    # included by benchmarks_page.md, not a page of its own
    "benchmarks.md",
    # written by sphinx-gallery when write_computation_times was on (stale copies)
    "sg_execution_times.rst",
    "auto_examples/sg_execution_times.rst",
    # gallery outputs that are not pages
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "auto_examples/*.md5",
    "auto_examples/*.pickle",
]
# Offline build: no inventory is downloaded (intersphinx is not loaded).
intersphinx_mapping = {}
nitpicky = False
pygments_style = "sphinx"

# -- math --------------------------------------------------------------------
# MathJax is served with the pages, not from a CDN: the files of the
# sphinx-mathjax-offline package (MathJax 3, a dependency of the docs extra)
# are copied into _static/mathjax like our own static files, so equations
# render without network. (Its Sphinx extension is not loaded: it copies the
# same files after the build and does not declare itself parallel-safe.)
_mathjax = importlib.util.find_spec("sphinx-mathjax-offline")
if _mathjax is None:
    raise RuntimeError(
        "sphinx-mathjax-offline is not installed: install the docs extra "
        '(pip install -e ".[docs]")'
    )
MATHJAX_STATIC = Path(_mathjax.origin).parent / "static"  # holds mathjax/
mathjax_path = "mathjax/tex-chtml.js"

# -- MyST --------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
# skorch's / torch's / scikit-learn's docstrings are theirs to render: a method
# we override without a docstring of its own is not documented here
autodoc_inherit_docstrings = False
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- bibliography ------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "unsrt"
bibtex_reference_style = "author_year"

# -- sphinx-gallery ----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": [str(EXAMPLES)],
    "gallery_dirs": ["auto_examples"],
    # every example runs (a failing one fails the build)
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py$",
    "reset_argv": "m2s_docs.reset_argv",  # the examples' flags in the gallery
    "doc_module": ("braindecode_m2s",),
    "reference_url": {"braindecode_m2s": None},
    "backreferences_dir": "generated/backreferences",
    "image_scrapers": ("matplotlib",),
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 0,
    "download_all_examples": False,
    "show_signature": False,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    # no sg_execution_times pages: sphinx-gallery loads their table's scripts from CDNs
    # (each example's page still gives its running time)
    "write_computation_times": False,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"braindecode-m2s {release}"
html_static_path = ["_static", str(MATHJAX_STATIC)]
html_css_files = ["m2s.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "navigation_depth": 2,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "secondary_sidebar_items": ["page-toc", "sg_download_links"],
    "footer_start": ["copyright"],
}
# the whole site's navigation on every page (the theme's default shows the
# pages below the current top-level one: nothing on most pages of this site)
html_sidebars = {"**": ["sidebar-collapse", "sidebar-nav-all"]}
