"""What the guards of one test watch, and how their messages name the opt-outs.

The test classes and the pytest plugin each build one :class:`GuardPolicy`
per test (from class attributes, or from marks and ini options); the guards
themselves (:class:`TestGuards`) are the same for both.
"""

from __future__ import annotations

import dataclasses
import types

__unittest = True  # See _tracebacks.


@dataclasses.dataclass(frozen=True)
class GuardPolicy:
    """The settings of one test's guards."""

    #: How messages name the test.
    test: str
    #: Seconds the test's async steps may take together (None: no limit), and where that was set.
    timeout: float | None = None
    timeout_origin: str = ""
    allow_leftover_tasks: bool = False
    allow_foreign_thread_db_access: bool = False
    allow_never_awaited: bool = False
    #: How to turn an opt-out on, with ``{option}`` for its name
    #: ("set `{option} = True` on MyTests", "mark the test @pytest.mark.{option}").
    opt_out: str = "set `{option} = True` on the class"
    #: Where the test's own tasks should be cancelled and awaited.
    cleanup_steps: str = "in asyncTearDown or an async cleanup"
    #: The test function's code: a failure found after the test ran points at it.
    test_code: types.CodeType | None = None
    #: Track where never-awaited coroutines were made as deeply as asyncio's debug mode.
    debug: bool = False

    def allow_hint(self, option: str) -> str:
        """How to turn the opt-out ``option`` on, as a phrase."""
        return self.opt_out.format(option=option)
