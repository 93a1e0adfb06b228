"""The project's test suite (see CONTRIBUTING.rst).

Most meta-tests start pytest and Django's runner in subprocesses. pytest
rewrites the asserts of every test module and plugin it imports, and keeps the
result only where Python may write bytecode: with PYTHONDONTWRITEBYTECODE set,
each of those runs compiled them all again (about half a second of CPU each).
The subprocesses write bytecode as Python does by default (into __pycache__
folders, which git ignores).
"""

import os

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
