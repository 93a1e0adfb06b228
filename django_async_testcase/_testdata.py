"""asyncSetUpTestData: class-wide async test data for AsyncTestCase."""

from __future__ import annotations

from typing import Any

from . import _checks, _django
from ._engine import TestLoop

__unittest = True  # See _tracebacks.


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
        if not _defines_async_test_data(cls) or not _django.test_data_is_class_wide(cls):
            return
        before = dict(vars(cls))
        try:
            _run_async_test_data(cls)
        except Exception:
            # As TestCase.setUpClass does when setUpTestData fails.
            _django.rollback_class_atomics(cls)
            raise
        for name, value in list(vars(cls).items()):
            if value is not before.get(name):
                setattr(cls, name, _django.TestData(name, value))

    @_django.fixture_setup_override
    def _fixture_setup(cls_or_self: Any) -> None:
        # Where the databases lack transactions (or savepoints), Django runs
        # setUpTestData in _fixture_setup, before each test: so do we. Without
        # savepoints, it has entered per-test atomics (private API) first.
        super()._fixture_setup()  # type: ignore[misc]
        cls = cls_or_self if isinstance(cls_or_self, type) else type(cls_or_self)
        if not _defines_async_test_data(cls) or _django.test_data_is_class_wide(cls):
            return
        try:
            _run_async_test_data(cls)
        except Exception:
            _django.rollback_test_atomics(cls_or_self)
            raise


def _defines_async_test_data(cls: type) -> bool:
    return cls.asyncSetUpTestData.__func__ is not AsyncTestDataMixin.asyncSetUpTestData.__func__  # type: ignore[attr-defined]


def _run_async_test_data(cls: Any) -> None:
    """Run ``cls.asyncSetUpTestData()`` on a TestLoop of its own, in the class's transaction."""
    test_loop = TestLoop(cls.loop_factory, cls.asyncio_debug)
    test_loop.open()
    try:
        test_loop.run(cls.asyncSetUpTestData())
    finally:
        test_loop.close()
