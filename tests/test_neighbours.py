"""Neighbouring tools: pytest-randomly, pytest-timeout, factory_boy and model_bakery.

pytest-randomly and pytest-timeout (with ``--timeout`` above every test's
time) must change nothing: same outcomes and events as a plain run, in a
shuffled order for pytest-randomly. When pytest-timeout fires on a hung async
test, the test fails and, with the signal method, the next test runs clean;
the thread method ends the process, by design. Objects made by factories in
setUp and asyncSetUp are seen by the async ORM and rolled back.
"""

import json
import unittest
from importlib.util import find_spec

from tests.cases import case_timeout
from tests.harness import CaseModuleTests, CaseRunsTests, uses
from tests.test_plugins import PLAIN, events, outcomes, pytest_runs

NEEDED = ("pytest_randomly", "pytest_timeout", "factory", "model_bakery")
MISSING = [name for name in NEEDED if find_spec(name) is None]
# In a virtualenv without the test extra (CI installs it), skip rather than fail.
needs_neighbours = unittest.skipIf(
    MISSING, f"{', '.join(MISSING)} not installed: pip install -e '.[test]'"
)

# The harness turns pytest-randomly off for every other meta-test; turn it on again.
RANDOMLY_SEEDS = (1, 2)
TIMEOUT_METHODS = ("signal", "thread")
SUBTESTS = "AsyncOutcomes.test_subtests"


def neighbour_runs(*args, **kwargs):
    """A run of each module under pytest with the plain plugins and ``args``."""
    return pytest_runs(*PLAIN, *args, **kwargs)


def order(runs):
    """The tests of ``runs``, in the order they ran."""
    return [r["test"] for run in runs for r in run.records if not r["subtest"]]


def unordered_events(runs):
    """``events`` of ``runs``; "previous_loop" without its test's name (every test of
    a class logs it but the first to run)."""
    found = [json.loads(e) for e in events(runs)]
    for event in found:
        if event["event"] == "previous_loop":
            event["test"] = ""
    return sorted(json.dumps(e, sort_keys=True) for e in found)


def rows_after(runs):
    """Every row count logged by LeakCheck after a test's rollback or flush."""
    return [
        count
        for run in runs
        for event in run.event_data("rows_after")
        for count in event["counts"].values()
    ]


@needs_neighbours
class OrderAndTimeoutPluginTests(CaseRunsTests):
    @classmethod
    def case_runs(cls):
        runs = {
            "plain": neighbour_runs(),
            "timeout thread": neighbour_runs(
                "-p", "timeout", "--timeout=60", "--timeout-method=thread"
            ),
            "timeout signal": neighbour_runs(
                "-p", "timeout", "--timeout=60", "--timeout-method=signal"
            ),
        }
        for seed in RANDOMLY_SEEDS:
            runs["randomly", seed] = neighbour_runs("-p", "randomly", f"--randomly-seed={seed}")
        return runs

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plain = cls.runs["plain"]

    def assert_same_as_plain(self, runs, but=()):
        """Same outcomes (but for the tests in ``but``) and events as the plain run."""
        for run in runs:
            self.assertIn(run.returncode, (0, 1), run.output)

        def kept(found):
            return [o for o in found if o[0] not in but]

        self.assertEqual(kept(outcomes(runs)), kept(outcomes(self.plain)))
        self.assertEqual(unordered_events(runs), unordered_events(self.plain))
        counts = rows_after(runs)
        self.assertTrue(counts)
        self.assertEqual(set(counts), {0})

    @uses("plain")
    def test_plain_run(self):
        self.assertIn("OrderTests.test_async", order(self.plain))
        self.assertIn(("AsyncOutcomes.test_subtests", "failed", True), outcomes(self.plain))
        self.assertEqual(set(rows_after(self.plain)), {0})

    @uses("plain", *[("randomly", seed) for seed in RANDOMLY_SEEDS])
    def test_pytest_randomly(self):
        orders = set()
        for seed in RANDOMLY_SEEDS:
            with self.subTest(seed=seed):
                runs = self.runs["randomly", seed]
                self.assert_same_as_plain(runs)
                self.assertNotEqual(order(runs), order(self.plain))
                orders.add(tuple(order(runs)))
        self.assertEqual(len(orders), len(RANDOMLY_SEEDS))

    @uses("plain", "timeout thread")
    def test_pytest_timeout_above_every_test(self):
        self.assert_same_as_plain(self.runs["timeout thread"])

    @uses("plain", "timeout signal")
    def test_pytest_timeout_signal_method_and_failing_async_subtests(self):
        # pytest reports a failing subtest from the thread that runs it, and
        # pytest-timeout's signal method can reset its timer only on the main
        # thread: the test's loop runs there, so every subtest is reported.
        self.assert_same_as_plain(self.runs["timeout signal"])


@needs_neighbours
class TimeoutFiresTests(CaseRunsTests):
    """tests/cases/case_timeout.py: test_a_hangs has ``@pytest.mark.timeout(2, func_only=True)``."""

    @classmethod
    def case_runs(cls):
        return {
            method: neighbour_runs(
                "-p", "timeout", f"--timeout-method={method}", modules=[case_timeout]
            )[0]
            for method in TIMEOUT_METHODS
        }

    @uses("signal")
    def test_signal_method_fails_the_test_and_the_next_runs_clean(self):
        run = self.runs["signal"]
        self.assertEqual(run.returncode, 1, run.output)
        hung = [r for r in run.records if r["test"] == "HungTests.test_a_hangs"]
        self.assertEqual(hung[0]["outcome"], "failed", run.output)
        self.assertIn("Timeout (>2.0s) from pytest-timeout", hung[0]["details"])
        # The interrupted coroutine is cancelled when the loop closes, and may
        # be reported as a leftover task of the test (at teardown): nothing else.
        for record in hung[1:]:
            self.assertEqual(record["outcome"], "error")
            self.assertIn("LeftoverTasks", record["details"])
            # The test's coroutine (on Python 3.10, the wrapper that shares its context).
            self.assertRegex(record["details"], r"HungTests\.test_a_hangs\(\)|_write_back\(\)")
        self.assertEqual(run.outcome(case_timeout.HungTests.test_b_after), "passed")
        # The test after the hung one: the runner's order puts it there (checked).
        tests = [r["test"] for r in run.records]
        self.assertLess(
            tests.index("HungTests.test_a_hangs"), tests.index("HungTests.test_b_after")
        )
        self.assertEqual(run.events_of("HungTests.test_b_after"), ["after", "rows_after"])
        self.assertEqual(
            [e["counts"] for e in run.event_data("rows_after")], [{"default": 0}, {"default": 0}]
        )

    @uses("thread")
    def test_thread_method_ends_the_process(self):
        # pytest-timeout's thread method dumps the stacks and calls os._exit(1).
        run = self.runs["thread"]
        self.assertEqual(run.returncode, 1, run.output)
        self.assertIn("Timeout", run.output)
        self.assertEqual(run.records, [])  # No session finish: nothing written.
        self.assertEqual([e["event"] for e in run.events], ["hanging"])


@needs_neighbours
class FactoryTests(CaseModuleTests):
    # A dotted path: importing case_factories needs factory_boy and model_bakery.
    module = "tests.cases.case_factories"

    def test_all_pass_and_nothing_leaks(self):
        for run in self.each_run():
            self.assertEqual(run.returncode, 0, run.output)
            self.assertEqual(len(run.records), 6, run.output)
            self.assertEqual({r["outcome"] for r in run.records}, {"passed"}, run.output)
            self.assertEqual(len(run.event_data("rows_after")), 6)
            self.assertEqual(set(rows_after([run])), {0})

    def test_async_orm_sees_factory_objects(self):
        for run in self.each_run():
            names = [e["names"] for e in run.event_data("names")]
            self.assertEqual(len(names), 2, run.output)
            for found in names:
                self.assertEqual(
                    found,
                    ["async baker", "async baker", "async factory", "sync baker", "sync factory"],
                )
