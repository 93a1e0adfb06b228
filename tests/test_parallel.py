"""Parallel runs give the same results as serial ones.

Each case module runs serially and with two worker processes, under Django's
runner (``--parallel 2``, one test class per worker) and under pytest-xdist
(``-n 2 --dist load``, which also spreads one class's tests over both workers).
Every test and subtest must get the same outcome, and the tests must log the
same events, as in the serial run.
"""

import json
import unittest
from collections import Counter

from tests.cases import case_lifecycle, case_parallel
from tests.harness import RUNNERS, CaseRunsTests, Cases, uses

try:
    import tblib
except ImportError:
    tblib = None

PARALLEL_ARGS = {"unittest": ("--parallel", "2"), "pytest": ("-n", "2", "--dist", "load")}
# Lifecycle: the database, threads, loops and context of each step.
# Parallel: every kind of outcome (see its docstring for decorator skips).
MODULES = (case_lifecycle, case_parallel)
# Events that depend on which tests share a process.
PER_PROCESS_EVENTS = {"previous_loop"}


def outcomes(run):
    return Counter((r["test"], r["outcome"], r["subtest"]) for r in run.records)


def events(run):
    return Counter(
        json.dumps({k: v for k, v in e.items() if k != "pid"}, sort_keys=True)
        for e in run.events
        if e["event"] not in PER_PROCESS_EVENTS
    )


class ParallelRunnerTests(CaseRunsTests):
    @classmethod
    def case_runs(cls):
        return {
            (module, runner, parallel): Cases.of(
                module, runner, *(PARALLEL_ARGS[runner] if parallel else ())
            )
            for module in MODULES
            for runner in RUNNERS
            for parallel in (False, True)
        }

    def assert_same_results(self, module, runner):
        serial, parallel = self.runs[module, runner, False], self.runs[module, runner, True]
        self.assertTrue(serial.records, serial.output)
        self.assertEqual(outcomes(parallel), outcomes(serial), parallel.output[-5000:])
        self.assertEqual(events(parallel), events(serial), parallel.output[-5000:])
        self.assertEqual(parallel.returncode, serial.returncode, parallel.output[-5000:])
        # Both worker processes ran tests.
        self.assertEqual(len({e["pid"] for e in serial.events}), 1)
        self.assertEqual(len({e["pid"] for e in parallel.events}), 2, parallel.output)

    @uses((case_lifecycle, "unittest", False), (case_lifecycle, "unittest", True))
    def test_django_runner_lifecycle(self):
        self.assert_same_results(case_lifecycle, "unittest")

    @uses((case_lifecycle, "pytest", False), (case_lifecycle, "pytest", True))
    def test_pytest_xdist_lifecycle(self):
        self.assert_same_results(case_lifecycle, "pytest")

    @unittest.skipIf(tblib is None, "Django's --parallel needs tblib to report failures")
    @uses((case_parallel, "unittest", False), (case_parallel, "unittest", True))
    def test_django_runner_outcomes(self):
        self.assert_same_results(case_parallel, "unittest")

    @uses((case_parallel, "pytest", False), (case_parallel, "pytest", True))
    def test_pytest_xdist_outcomes(self):
        self.assert_same_results(case_parallel, "pytest")

    @unittest.skipIf(tblib is None, "Django's --parallel needs tblib to report failures")
    @uses((case_parallel, "unittest", True))
    def test_django_runner_tracebacks_start_at_the_users_code(self):
        # The worker pickles tracebacks without the modules' __unittest mark;
        # the library drops those frames first, as unittest does serially.
        parallel = self.runs[case_parallel, "unittest", True]
        self.assertIn('case_parallel.py", line', parallel.output)
        for hidden in ("/django_async_testcase/", "/asgiref/", "/unittest/case.py"):
            self.assertNotIn(hidden, parallel.output, hidden)
