"""What a new user hit (issue 13): each misuse fails with a message naming the fix.

Runs the real test classes of tests/cases/case_newuser.py (and the module of
case_timeout_no_parentheses.py, which cannot be imported) under Django's
runner and under pytest.
"""

import django
from django.test import SimpleTestCase

from tests.cases.case_newuser import CLIENT_GET, CLIENT_GET_WHERE
from tests.harness import RUNNERS, CaseModuleTests, Cases, run_all

MODULE = "tests.cases.case_newuser"

# test: (outcome under Django's runner, words its report must contain).
FAILURES = {
    "NeverAwaitedTests.test_a_orm_call_not_awaited": (
        "failed",
        [
            "NeverAwaited",
            "coroutine 'QuerySet.acreate' was never awaited",
            'Item.objects.acreate(name="forgotten")',
            "allow_never_awaited = True",
        ],
    ),
    "NeverAwaitedTests.test_b_enter_async_context_not_awaited": (
        "failed",
        ["coroutine '_AsyncTestMixin.enterAsyncContext' was never awaited", "in test_b_enter"],
    ),
    "NeverAwaitedTests.test_c_not_awaited_in_async_set_up": (
        "failed",
        ["coroutine 'sleep' was never awaited", "in asyncSetUp"],
    ),
    "NeverAwaitedTests.test_e_sync_test_not_awaited": (
        "failed",
        ["coroutine 'sleep' was never awaited", "in test_e_sync_test_not_awaited"],
    ),
    "FrozenClockTests.test_a_frozen": (
        "failed",
        [
            "AsyncTestTimeout",
            "timed out after 1 s (FrozenClockTests.async_timeout = 1)",
            "The event loop's clock jumped about ",
            " years ",
            "a frozen or moved clock is the cause",
            "real_asyncio=True",
        ],
    ),
    "FrozenClassTests.test_frozen_for_the_class": (
        "failed",
        ["timed out after 1 s", "The event loop's clock stood still while", "real_asyncio=True"],
    ),
    "MethodSettingTimeoutTests.test_hangs": (
        "failed",
        ["timed out after 0.2 s (@override_settings(ASYNC_TESTCASE_TIMEOUT=0.2) on the test"],
    ),
    "DjangoHandlerTaskTests.test_request_task_left": (
        "failed",
        [
            "LeftoverTasks",
            "ASGIHandler.listen_for_disconnect",
            "The ASGIHandler tasks are Django's",
            "the test cannot await them",
            "Let the request finish within the client's timeout",
        ],
    ),
    "ForgottenAwaitTests.test_client_get_not_awaited": (
        "error",
        [
            "AttributeError: 'coroutine' object has no attribute 'status_code'",
            f"Coroutine '{CLIENT_GET}' was never awaited (a forgotten `await`?): `response` "
            f"in test_client_get_not_awaited() holds it, {CLIENT_GET_WHERE}",
            'case_newuser.py", line ',
            *(
                ['response = self.async_client.get("/items/")']
                if CLIENT_GET_WHERE == "made at"
                else []
            ),
        ],
    ),
    "ForgottenAwaitAllowedTests.test_sleep_not_awaited": (
        "error",
        [
            "Coroutine 'pause' was never awaited (a forgotten `await`?): `pending` in "
            "test_sleep_not_awaited() holds it, still unstarted at",
            "pending.done()",
        ],
    ),
    "LoopFactoryNoneTests.test_it": (
        "error",
        [
            "TypeError: loop_factory tests.cases.case_newuser.returns_none returned None, "
            "not an event loop",
        ],
    ),
    "LoopFactoryClosedTests.test_it": (
        "error",
        ["ValueError: loop_factory", "returned a closed event loop", "a new loop for each test"],
    ),
    "NanTimeoutTests.test_it": (
        "error",
        ["NanTimeoutTests.async_timeout must be a positive, finite number", "got nan"],
    ),
    "SyncTimeoutTests.test_sync": (
        "error",
        ["@timeout(0.1) is on SyncTimeoutTests.test_sync, a synchronous test", "async def"],
    ),
}

if django.VERSION < (5, 0):
    # Django's ASGIHandler has no tasks of its own before 5.0: skipped there.
    del FAILURES["DjangoHandlerTaskTests.test_request_task_left"]

PASSES = [
    "NeverAwaitedTests.test_d_awaited_and_closed",
    "NeverAwaitedAllowedTests.test_not_awaited_allowed",
    "AddAsyncCleanupWithCoroutineTests.test_coroutine_passed",
    "FrozenClockTests.test_b_frozen_real_asyncio",
    "FrozenClockTests.test_c_time_machine",
]


class NewUserTests(CaseModuleTests):
    module = MODULE

    def test_each_misuse_fails_once_with_its_message(self):
        for run in self.each_run():
            for test, (outcome, words) in FAILURES.items():
                with self.subTest(runner=run.runner, test=test):
                    expected = outcome if run.runner == "unittest" else "failed"
                    self.assertEqual(run.outcome(test), expected, run.why(test))
                    # Reported once, not again for a cleanup.
                    records = [r for r in run.records if r["test"] == test and not r["subtest"]]
                    self.assertEqual(len(records), 1, run.why(test))
                    details = run.details(test)
                    for word in words:
                        self.assertIn(word, details)

    def test_the_rest_passes(self):
        for run in self.each_run():
            for test in PASSES:
                with self.subTest(runner=run.runner, test=test):
                    self.assertEqual(run.outcome(test), "passed", run.why(test))

    def test_misused_tests_never_run(self):
        for run in self.each_run():
            self.assertEqual(
                [e["test"] for e in run.events if e["event"] == "test body ran"], [], run.output
            )

    def test_no_stray_never_awaited_warnings(self):
        for run in self.each_run():
            self.assertNotIn("_shutdown' was never awaited", run.output)
            self.assertNotIn("'AddAsyncCleanupWithCoroutineTests.cleanup' was never", run.output)
            self.assertNotIn("coroutine 'returns_none'", run.output)
            # Named in their test's failure, and closed: no warning at the interpreter's exit.
            self.assertNotIn(f"coroutine '{CLIENT_GET}' was never awaited", run.output)
            self.assertNotIn("coroutine 'pause' was never awaited", run.output)

    def test_asyncio_debug_not_a_bool_is_a_class_error(self):
        for run in self.each_run():
            if run.runner == "unittest":
                name = f"_ErrorHolder.setUpClass ({MODULE}.DebugNotBoolTests)"
            else:
                name = "DebugNotBoolTests.test_it"
            details = run.details(name)
            self.assertIn(
                "DebugNotBoolTests.asyncio_debug must be True or False (or None for asyncio's "
                "default), got 'no'.",
                details,
                run.output,
            )

    def test_add_async_cleanup_with_a_coroutine_says_how(self):
        for run in self.each_run():
            [event] = run.event_data("error")
            self.assertIn("addAsyncCleanup() needs a coroutine function", event["message"])
            self.assertIn("addAsyncCleanup(func, *args) instead of", event["message"])

    def test_frozen_clock_fails_after_the_real_budget_not_at_once(self):
        for run in self.each_run():
            took = {e["test"]: e["seconds"] for e in run.event_data("took")}
            self.assertGreaterEqual(took["FrozenClockTests.test_a_frozen"], 0.95, run.runner)
            self.assertLess(took["FrozenClockTests.test_b_frozen_real_asyncio"], 0.9, run.runner)
            years = [e["year"] for e in run.event_data("now")]
            self.assertEqual(years, [2020, 2020], run.runner)


class TimeoutWithoutParenthesesTests(SimpleTestCase):
    def test_import_error_says_to_use_parentheses(self):
        module = "tests.cases.case_timeout_no_parentheses"
        for run in run_all([Cases.of(module, runner) for runner in RUNNERS]):
            with self.subTest(runner=run.runner):
                self.assertNotEqual(run.returncode, 0, run.output)
                self.assertIn("@timeout needs the number of seconds", run.output)
                self.assertIn("use @timeout(seconds)", run.output)
