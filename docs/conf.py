"""Sphinx configuration: ``sphinx-build -W -b html docs docs/_build/html``."""

import os
import sys
from pathlib import Path

# Document the package of this checkout; autodoc imports it, which needs settings.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import django_async_testcase  # noqa: E402

project = "django-async-testcase"
author = "django-async-testcase developers"
copyright = f"%Y, {author}"
release = version = django_async_testcase.__version__

extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build"]
default_role = "code"
highlight_language = "python"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"

html_theme = "furo"
html_title = f"{project} {release}"
