"""What the case files need from the async runner the session uses (PLUGIN_CASE_RUNNER).

``asyncio`` (pytest-asyncio, strict or auto mode) or ``anyio`` (anyio's
plugin, asyncio backend). The meta-tests in tests/test_pytest_plugin.py set it.
"""

import os

import pytest

RUNNER = os.environ.get("PLUGIN_CASE_RUNNER", "asyncio")

if RUNNER == "anyio":
    mark = pytest.mark.anyio
    async_fixture = pytest.fixture

    @pytest.fixture
    def anyio_backend():
        return "asyncio"

else:
    import pytest_asyncio

    mark = pytest.mark.asyncio
    async_fixture = pytest_asyncio.fixture

    @pytest.fixture
    def anyio_backend():  # Unused under pytest-asyncio; keeps the import list the same.
        return "asyncio"
