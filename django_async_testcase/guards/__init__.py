"""Guards that turn the classic async-test bugs into clear failures of the test.

Each test gets one :class:`TestGuards`, configured by a :class:`GuardPolicy`
(which the test classes and the pytest plugin each build), started before the
test's first step and finished after its event loop has closed, before
Django's rollback. It catches database access from other threads, leftover or
failed background tasks, async steps over the time budget (:func:`timeout`)
and coroutines never awaited; each raises a subclass of :class:`GuardFailure`.
"""

from ._failures import (
    AsyncTestTimeout,
    ForeignThreadDatabaseAccess,
    GuardFailure,
    LeftoverTasks,
    NeverAwaited,
)
from ._forgotten_awaits import note_forgotten_awaits as note_forgotten_awaits
from ._never_awaited import ASYNCIO_DEBUG_DEFAULT as ASYNCIO_DEBUG_DEFAULT
from ._policy import GuardPolicy as GuardPolicy
from ._test_guards import TestGuards as TestGuards
from ._timeouts import TIMEOUT_SETTING as TIMEOUT_SETTING
from ._timeouts import FromSetting as FromSetting
from ._timeouts import check_seconds as check_seconds
from ._timeouts import function_timeout as function_timeout
from ._timeouts import setting_timeout as setting_timeout
from ._timeouts import test_timeout as test_timeout
from ._timeouts import timeout

__all__ = [
    "AsyncTestTimeout",
    "ForeignThreadDatabaseAccess",
    "GuardFailure",
    "LeftoverTasks",
    "NeverAwaited",
    "timeout",
]
