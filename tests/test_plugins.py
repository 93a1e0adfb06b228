"""pytest's async plugins leave the test classes alone: same outcomes, same events.

pytest-asyncio (strict and auto mode) only takes over items that pytest
collects as functions, never the methods of unittest classes. anyio's plugin
takes over every item whose function is a coroutine function and carries its
mark, unittest methods included, and runs it without Django's set-up: our
classes must show pytest plain methods. The control, Django's own TestCase
with ``async def`` tests, shows what anyio does otherwise.
"""

import json
from importlib.util import find_spec

from tests.harness import CaseRunsTests, Cases, run_all, uses
from tests.test_lifecycle import HAS_UVLOOP

MODULES = ("tests.cases.case_lifecycle", "tests.cases.case_outcomes")
PLAIN = ("-p", "no:asyncio", "-p", "no:anyio")
PYTEST_ASYNCIO = {
    "strict": ("-p", "asyncio", "--asyncio-mode=strict", "-p", "no:anyio"),
    "auto": ("-p", "asyncio", "--asyncio-mode=auto", "-p", "no:anyio"),
}
# Django's own TestCase with async def tests (in case_outcomes): not ours.
CONTROL = "DjangoExpectedFailures."
ANYIO_FUNCTION = "tests/cases/case_anyio.py.test_anyio_runs_marked_coroutine_functions"
# anyio's plugin runs each item on every installed backend: trio too, if installed.
ANYIO_BACKENDS = ["asyncio", *(["trio"] if find_spec("trio") else [])]


def pytest_runs(*args, modules=MODULES):
    """A run of each module under pytest with ``args``."""
    return [Cases.of(module, "pytest", *args) for module in modules]


def run_modules(*args, modules=MODULES):
    """Run each module under pytest with ``args``; the runs, in order."""
    return run_all(pytest_runs(*args, modules=modules))


def outcomes(runs):
    """Sorted (test, outcome, subtest) of our classes' tests in ``runs``."""
    return sorted(
        (r["test"], r["outcome"], r["subtest"])
        for run in runs
        for r in run.records
        if not r["test"].startswith((CONTROL, ANYIO_FUNCTION + "["))
    )


def events(runs):
    """Sorted events the tests of ``runs`` logged, as JSON (without the process id)."""
    return sorted(
        json.dumps({k: v for k, v in e.items() if k != "pid"}, sort_keys=True)
        for run in runs
        for e in run.events
        if e["test"]
    )


def outcomes_with_all(run):
    return [(r["test"], r["outcome"], r["subtest"]) for r in run.records]


class PluginTests(CaseRunsTests):
    @classmethod
    def case_runs(cls):
        return {
            "plain": pytest_runs(*PLAIN),
            "strict": pytest_runs(*PYTEST_ASYNCIO["strict"]),
            "auto": pytest_runs(*PYTEST_ASYNCIO["auto"]),
            "anyio": pytest_runs("-p", "anyio", modules=["tests.cases.case_anyio"]),
        }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plain = cls.runs.get("plain")

    def assert_same_as_plain(self, runs):
        for run in runs:
            self.assertIn(run.returncode, (0, 1), run.output)
        self.assertEqual(outcomes(runs), outcomes(self.plain))
        self.assertEqual(events(runs), events(self.plain))

    @uses("plain")
    def test_plain_run_is_complete(self):
        lifecycle, case_outcomes = self.plain
        self.assertEqual(lifecycle.returncode, 0, lifecycle.output)
        self.assertEqual(case_outcomes.returncode, 1, case_outcomes.output)
        # Every test of both modules ran, and the lifecycle logged its events.
        # (UvloopTests is skipped where uvloop is not installed.)
        passed = 22 if HAS_UVLOOP else 21
        self.assertEqual(len([r for r in lifecycle.records if r["outcome"] == "passed"]), passed)
        self.assertEqual(lifecycle.outcome("OrderTests.test_async"), "passed")
        self.assertEqual(case_outcomes.outcome("AsyncOutcomes.test_expected_failure"), "xfail")
        self.assertTrue(lifecycle.event_data("asyncSetUp db"))

    @uses("plain", "strict")
    def test_pytest_asyncio_strict_mode(self):
        self.assert_same_as_plain(self.runs["strict"])

    @uses("plain", "auto")
    def test_pytest_asyncio_auto_mode(self):
        self.assert_same_as_plain(self.runs["auto"])

    @uses("plain", "anyio")
    def test_anyio_plugin_with_module_mark(self):
        [run] = self.runs["anyio"]
        # The plugin is active: it ran the marked coroutine function...
        for backend in ANYIO_BACKENDS:
            self.assertIn(
                (f"{ANYIO_FUNCTION}[{backend}]", "passed", False),
                outcomes_with_all(run),
                run.output,
            )
        self.assertEqual(
            [e["event"] for e in run.events if not e["test"]],
            ["anyio ran a coroutine function"] * len(ANYIO_BACKENDS),
        )
        # ...and took over Django's own async test methods (new item names).
        control = sorted(r["test"] for r in run.records if r["test"].startswith(CONTROL))
        self.assertEqual(
            control,
            sorted(
                f"{CONTROL}{method}[{backend}]"
                for method in ("test_expected_failure", "test_unexpected_success")
                for backend in ANYIO_BACKENDS
            ),
        )
        # Ours were left to Django and unittest.
        self.assert_same_as_plain([run])
