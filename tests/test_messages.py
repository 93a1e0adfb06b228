"""In-process unit tests of issue 18's messages: no subprocess, no database.

The meta-tests (test_misuse, test_newuser, test_settings_check,
test_plugin_newuser) check them as the runners print them; these check the
rules behind them quickly.
"""

import sys
import unittest
from types import SimpleNamespace

from django.test import SimpleTestCase, override_settings

from django_async_testcase import AsyncSimpleTestCase, _checks, checks
from django_async_testcase.guards import _timeouts
from django_async_testcase.guards._forgotten_awaits import note_forgotten_awaits


def clock_note(loop_moved: float, real: float = 1.0) -> str:
    """The note of a budget whose loop clock moved ``loop_moved`` s while ``real`` s passed."""
    budget = _timeouts.Budget(1, "test", None)
    budget._started = _timeouts._now() - real
    budget._loop_started = 100.0
    loop = SimpleNamespace(time=lambda: 100.0 + loop_moved)
    return budget._clock_note(SimpleNamespace(get_loop=lambda: loop))


class ClockNoteTests(SimpleTestCase):
    def test_a_clock_that_kept_pace_says_nothing(self):
        self.assertEqual(clock_note(1.0), "")

    def test_a_jump_in_human_units(self):
        self.assertIn("jumped about 54 years forward while 1 s", clock_note(1.704e9))
        self.assertIn("jumped about 5 hours back", clock_note(-5 * 3600))
        self.assertIn("jumped about 3 minutes forward", clock_note(180))
        self.assertIn("jumped 30 s forward", clock_note(30))
        self.assertIn("a frozen or moved clock is the cause", clock_note(30))

    def test_a_frozen_clock_stood_still(self):
        note = clock_note(0.0)
        self.assertIn("The event loop's clock stood still while 1 s of real time passed", note)
        self.assertIn("real_asyncio=True", note)


async def get_page():
    return "page"


class ForgottenAwaitNoteTests(SimpleTestCase):
    def failure(self):
        try:
            response = get_page()
            response.status_code  # noqa: B018
        except AttributeError as exc:
            return exc, response
        raise AssertionError("no failure")

    def test_names_the_coroutine_and_closes_it(self):
        exc, coro = self.failure()
        note_forgotten_awaits(exc)
        text = "\n".join(getattr(exc, "__notes__", None) or [str(exc)])
        self.assertIn("Coroutine 'get_page' was never awaited", text)
        self.assertIn("`response` in failure() holds it", text)
        self.assertIn("response.status_code", text)
        self.assertIsNone(coro.cr_frame)  # Closed: no RuntimeWarning later.
        note_forgotten_awaits(exc)  # Once only.
        if sys.version_info >= (3, 11):
            self.assertEqual(len(exc.__notes__), 1)

    def test_a_skip_is_left_alone(self):
        try:
            later = get_page()
            raise unittest.SkipTest("not today")
        except unittest.SkipTest as exc:
            note_forgotten_awaits(exc)
            self.assertEqual(str(exc), "not today")
            self.assertFalse(getattr(exc, "__notes__", None))
        later.close()

    def test_a_started_coroutine_is_not_named(self):
        try:
            awaited = get_page()
            awaited.send(None)
        except StopIteration as exc:
            note_forgotten_awaits(exc)
            self.assertFalse(getattr(exc, "__notes__", None))


class TimeoutSettingCheckTests(SimpleTestCase):
    def test_a_string(self):
        with override_settings(ASYNC_TESTCASE_TIMEOUT="5"):
            [error] = checks.check_settings()
        self.assertEqual(error.id, "django_async_testcase.E001")
        self.assertIn("got '5'", error.msg)
        self.assertEqual(
            error.hint, "Write it as a number, without quotes: ASYNC_TESTCASE_TIMEOUT = 5."
        )

    def test_other_wrong_values(self):
        for value in (0, -1, float("nan"), True, [5]):
            with self.subTest(value=value), override_settings(ASYNC_TESTCASE_TIMEOUT=value):
                [error] = checks.check_settings()
                self.assertIn("Set it to a number of seconds", error.hint)

    def test_right_values(self):
        for value in (None, 5, 0.5):
            with self.subTest(value=value), override_settings(ASYNC_TESTCASE_TIMEOUT=value):
                self.assertEqual(checks.check_settings(), [])


class MixinOrderTests(SimpleTestCase):
    def test_isolated_asyncio_test_case_in_front_is_an_error(self):
        class InFront(unittest.IsolatedAsyncioTestCase, AsyncSimpleTestCase):
            pass

        [error] = _checks.async_class_hook_errors(InFront)
        self.assertIn("Remove IsolatedAsyncioTestCase from the bases of", error)

    def test_behind_or_absent_is_not(self):
        class Behind(AsyncSimpleTestCase, unittest.IsolatedAsyncioTestCase):
            pass

        self.assertEqual(_checks.async_class_hook_errors(Behind), [])
        self.assertEqual(_checks.async_class_hook_errors(AsyncSimpleTestCase), [])
