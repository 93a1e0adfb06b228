"""case_lifecycle's and case_outcomes' classes with every test marked ``anyio``.

anyio's pytest plugin runs coroutine test functions that carry its mark
itself, replacing pytest's item (for a unittest class: without Django's
set-up). Run by tests/test_plugins.py with that plugin active.
"""

import pytest

from tests.cases.case_lifecycle import *  # noqa: F403
from tests.cases.case_outcomes import *  # noqa: F403
from tests.cases.log import log

pytestmark = pytest.mark.anyio


async def test_anyio_runs_marked_coroutine_functions():
    """Passes only if anyio's plugin is active (pytest alone cannot run it)."""
    log(None, "anyio ran a coroutine function")
