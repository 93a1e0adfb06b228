"""Hooks written async where they would never be awaited are errors naming the fix.

Runs the real test classes of tests/cases/case_misuse.py under Django's
runner and under pytest. The bodies of misused hooks log an event if they
ever run; none may.
"""

from tests.cases import case_misuse as cases
from tests.harness import CaseModuleTests, uses

MODULE = cases.__name__

# class: words the error must contain (the hook and the fix).
CLASS_ERRORS = {
    "AsyncSetUpClassDefined": [
        "AsyncSetUpClassDefined.setUpClass is defined with `async def`",
        "override it with a plain def",
        "asyncSetUpTestData",
    ],
    "AsyncSetUpClassInherited": [
        "AsyncSetUpClassInherited.setUpClass is defined with `async def`",
        "override it with a plain def",
    ],
    "AsyncTearDownClassDefined": [
        "AsyncTearDownClassDefined.tearDownClass is defined with `async def`",
        "override it with a plain def",
    ],
    "AsyncSetUpTestDataDefined": [
        "AsyncSetUpTestDataDefined.setUpTestData is defined with `async def`",
        "plain classmethod",
        "`async def asyncSetUpTestData(cls)`",
    ],
    "MixinInFront": [
        "MixinInFront puts unittest.IsolatedAsyncioTestCase in front of "
        "django-async-testcase's class",
        "what it writes would be committed",
        "Remove IsolatedAsyncioTestCase from the bases of MixinInFront",
    ],
}

# test: words its error must contain.
TEST_ERRORS = {
    "AsyncSetUpDefined.test_it": [
        "AsyncSetUpDefined.setUp is defined with `async def`",
        "Define `async def asyncSetUp(self)` instead.",
    ],
    "AsyncTearDownDefined.test_it": [
        "AsyncTearDownDefined.tearDown is defined with `async def`",
        "Define `async def asyncTearDown(self)` instead.",
    ],
    "SyncAsyncSetUp.test_it": [
        "SyncAsyncSetUp.asyncSetUp must be defined with `async def`",
        "put synchronous code in setUp.",
    ],
    "ReturnsValue.test_returns_value": [
        "returned 42; a test method must return None.",
    ],
    "ReturnsValue.test_returns_coroutine": [
        "returned <coroutine object",
        "a test method must return None (was an await forgotten?).",
    ],
}


def class_error(run, cls):
    """The details of the error reported for the class-level set-up of ``cls``."""
    if run.runner == "unittest":
        # Django's runner reports it as a pseudo-test "setUpClass (module.Class)".
        name = f"_ErrorHolder.setUpClass ({MODULE}.{cls})"
        records = [r for r in run.records if r["test"] == name]
    else:
        # pytest reports it as an error in the set-up of the class's test.
        records = [r for r in run.records if r["test"] == f"{cls}.test_it"]
    outcomes = [r["outcome"] for r in records]
    if outcomes != ["error"]:
        raise AssertionError(f"{cls} under {run.runner}: {outcomes}\n{run.output}")
    return records[0]["details"]


class MisuseTests(CaseModuleTests):
    module = cases

    def test_run_fails(self):
        for run in self.each_run():
            self.assertEqual(run.returncode, 1, run.output)

    @uses(
        cases.AsyncSetUpClassDefined,
        cases.AsyncSetUpClassInherited,
        cases.AsyncTearDownClassDefined,
        cases.AsyncSetUpTestDataDefined,
        cases.MixinInFront,
    )
    def test_async_class_hooks_are_class_errors_naming_the_fix(self):
        for run in self.each_run():
            for cls, words in CLASS_ERRORS.items():
                with self.subTest(runner=run.runner, cls=cls):
                    details = class_error(run, cls)
                    for word in words:
                        self.assertIn(word, details)
                    # The class's test never ran, nor passed.
                    self.assertEqual(run.events_of(f"{cls}.test_it"), [])
                    self.assertNotIn(
                        "passed", [r["outcome"] for r in run.records if r["test"].startswith(cls)]
                    )

    @uses(
        cases.AsyncSetUpDefined,
        cases.AsyncTearDownDefined,
        cases.SyncAsyncSetUp,
        cases.ReturnsValue,
    )
    def test_async_test_hooks_are_test_errors_naming_the_fix(self):
        for run in self.each_run():
            for test, words in TEST_ERRORS.items():
                with self.subTest(runner=run.runner, test=test):
                    # pytest reports errors of unittest tests as failures.
                    expected = "error" if run.runner == "unittest" else "failed"
                    self.assertEqual(run.outcome(test), expected)
                    details = run.details(test)
                    for word in words:
                        self.assertIn(word, details)
                    self.assertIn("TypeError", details)
                    # Clean under pytest too (issue 18): the user's line, none of the machinery's.
                    self.assertIn("case_misuse.py", details)
                    for machinery in ("case.py", "testcases.py", "_checks.py", "_tracebacks.py"):
                        self.assertNotIn(f'{machinery}"', details)
                        self.assertNotIn(f"/{machinery}:", details)

    @uses(cases.MixinInFront, cases.MixinBehind, cases.RowsAfterMixins)
    def test_mixin_in_front_writes_nothing(self):
        for run in self.each_run():
            with self.subTest(runner=run.runner):
                self.assertEqual(run.events_of("MixinInFront.test_it"), [])
                self.assertEqual(
                    [(e["test"], e["count"]) for e in run.event_data("rows")],
                    [("MixinBehind.test_it", 1), ("RowsAfterMixins.test_it", 0)],
                    run.output,
                )
                # The test database was dropped (PostgreSQL refuses while a connection is left).
                self.assertNotIn("being accessed by other users", run.output)
                self.assertNotIn("Error when trying to teardown", run.output)

    def test_misused_hook_bodies_never_run(self):
        for run in self.each_run():
            # Only the test whose tearDown is misused gets as far as its body.
            self.assertEqual(
                [(e["test"], e["event"]) for e in run.events if e["event"] != "rows"],
                [("AsyncTearDownDefined.test_it", "test body ran")],
                run.output,
            )
