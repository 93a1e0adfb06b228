"""asyncSetUpTestData: class-wide async test data for AsyncTestCase."""

from __future__ import annotations

from typing import Any

# TestData is the descriptor Django's TestCase.setUpClass wraps setUpTestData's
# attributes in (each test then reads a deep copy). It is not public API;
# tests/test_test_data.py checks that asyncSetUpTestData's attributes get it.
from django.test.testcases import TestData  # type: ignore[attr-defined]  # Not in django-stubs.

from . import _checks, _compat
from ._runner import TestRunner

# unittest and pytest leave out frames of modules that set __unittest, so a
# failing set-up's traceback starts at the test's own code.
__unittest = True


class AsyncTestDataMixin:
    """Runs ``asyncSetUpTestData`` wherever Django's TestCase runs setUpTestData."""

    @classmethod
    async def asyncSetUpTestData(cls) -> None:
        """Async class-wide test data, run after setUpTestData in the class's transaction.

        Attributes it sets on the class are isolated per test as those of
        setUpTestData are: each test sees its own deep copy.
        """

    @classmethod
    def setUpClass(cls) -> None:
        _checks.check_async_test_data(cls)
        super().setUpClass()  # type: ignore[misc]
        if not _defines_async_test_data(cls) or not _compat.test_data_is_class_wide(cls):
            return
        before = dict(vars(cls))
        try:
            _run_async_test_data(cls)
        except Exception:
            # As TestCase.setUpClass does when setUpTestData fails (private API).
            cls._rollback_atomics(cls.cls_atomics)  # type: ignore[attr-defined]
            raise
        for name, value in list(vars(cls).items()):
            if value is not before.get(name):
                setattr(cls, name, TestData(name, value))

    @_compat.fixture_setup_override
    def _fixture_setup(cls_or_self: Any) -> None:
        # Where the databases lack transactions (or savepoints), Django runs
        # setUpTestData in _fixture_setup, before each test: so do we. Without
        # savepoints, it has entered per-test atomics (private API) first.
        super()._fixture_setup()  # type: ignore[misc]
        cls = cls_or_self if isinstance(cls_or_self, type) else type(cls_or_self)
        if not _defines_async_test_data(cls) or _compat.test_data_is_class_wide(cls):
            return
        try:
            _run_async_test_data(cls)
        except Exception:
            # Private Django API, not in django-stubs.
            if cls._databases_support_transactions():  # type: ignore[attr-defined]
                cls._rollback_atomics(cls.atomics)  # type: ignore[attr-defined]
            raise


def _defines_async_test_data(cls: type) -> bool:
    return cls.asyncSetUpTestData.__func__ is not AsyncTestDataMixin.asyncSetUpTestData.__func__  # type: ignore[attr-defined]


def _run_async_test_data(cls: Any) -> None:
    """Run ``cls.asyncSetUpTestData()`` on a loop of its own; database work on this thread."""
    runner = TestRunner(cls.loop_factory, cls.asyncio_debug)
    try:
        runner.run(cls.asyncSetUpTestData())
    finally:
        runner.close()
