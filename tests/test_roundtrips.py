"""The per-test protocol on PostgreSQL in two round trips, with Django's semantics.

Runs tests/cases/case_roundtrips.py under Django's runner and pytest; every
check on our classes is made beside the same tests on ``django.test.TestCase``.
The round trips are counted from libpq's trace of the connection
(tests/cases/pgtrace.py): the statements sent between one test's setUp and the
next are the first test's end and the next one's start.
"""

import unittest
from importlib.util import find_spec

from tests.cases import case_roundtrips as cases
from tests.harness import RUNNERS, CaseModuleTests, CaseRunsTests, Cases, uses
from tests.settings import BACKEND

BATCH = "SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED; ROLLBACK TO SAVEPOINT"
DJANGO_PROTOCOL = [
    "SELECT 1",
    "SET CONSTRAINTS ALL IMMEDIATE",
    "SET CONSTRAINTS ALL DEFERRED",
    "ROLLBACK TO SAVEPOINT",
    "RELEASE SAVEPOINT",
    "SAVEPOINT",
]
VIOLATION = 'violates foreign key constraint "auth_user_groups_'
# Round trips are counted from libpq's trace, which psycopg 3 gives (Django
# uses psycopg 3 when both are installed); psycopg 2 runs the other checks.
counted = unittest.skipUnless(find_spec("psycopg"), "libpq's trace needs psycopg 3")


def named(cls, name):
    """A test inherited from a mixin, named by the class that runs it."""
    return f"{cls.__name__}.{name}"


def shapes(statements):
    """The statements without their savepoint names."""
    return [
        s.split(' "s')[0] if s.startswith(("SAVEPOINT", "ROLLBACK TO", "RELEASE")) else s
        for s in statements
    ]


@unittest.skipUnless(
    BACKEND == "postgresql", "PostgreSQL's protocol (SQLite and MariaDB: no check)"
)
class RoundTripTests(CaseModuleTests):
    module = cases

    def sent(self, run, cls, alias="default"):
        """{test: (statements, round trips)} of cls's tests after the first."""
        return {
            e["test"].rpartition(".")[2]: (e["statements"], e["round_trips"])
            for e in run.event_data("sent", of=cls)
            if e["alias"] == alias and not e["test"].endswith("test_1")
        }

    @counted
    @uses(cases.DjangoEmptyTests, cases.OursEmptySyncTests, cases.OursEmptyAsyncTests)
    def test_an_empty_test_takes_two_round_trips(self):
        for run in self.each_run():
            django = self.sent(run, cases.DjangoEmptyTests)
            self.assertEqual(set(django), {"test_2", "test_3"}, run.output)
            for statements, round_trips in django.values():
                self.assertEqual(shapes(statements), DJANGO_PROTOCOL)
                self.assertEqual(round_trips, 6)
            for cls in (cases.OursEmptySyncTests, cases.OursEmptyAsyncTests):
                ours = self.sent(run, cls)
                self.assertEqual(set(ours), {"test_2", "test_3"}, run.output)
                for statements, round_trips in ours.values():
                    self.assertEqual(round_trips, 2, statements)
                    [end, start] = statements
                    # The savepoint of the test that ended, rolled back to and released.
                    sid = start.partition(" ")[2]
                    self.assertEqual(sid, sid.strip())
                    self.assertTrue(end.startswith(BATCH), end)
                    self.assertTrue(start.startswith("SAVEPOINT"), start)

    @counted
    @uses(cases.DjangoTwoAliasesEmptyTests, cases.OursTwoAliasesEmptyTests)
    def test_two_round_trips_on_each_alias(self):
        for run in self.each_run():
            for alias in ("default", "other"):
                django = self.sent(run, cases.DjangoTwoAliasesEmptyTests, alias)
                ours = self.sent(run, cases.OursTwoAliasesEmptyTests, alias)
                self.assertEqual([r for _, r in django.values()], [6, 6], run.output)
                self.assertEqual([r for _, r in ours.values()], [2, 2], run.output)

    @uses(cases.DjangoViolationTests, cases.OursViolationTests)
    def test_deferred_violations_fail_as_in_django_and_are_rolled_back(self):
        expected = {
            "test_1_violates": "error",
            "test_2_violates_in_async_code": "error",
            "test_3_violates_on_the_other_alias": "error",
            "test_4_violates_marked_for_rollback": "passed",
            "test_5_violates_then_aborts": "passed",
            "test_6_valid_deferred_rows": "passed",
            "test_7_clean": "passed",
        }
        for run in self.each_run():
            for name, outcome in expected.items():
                django = named(cases.DjangoViolationTests, name)
                ours = named(cases.OursViolationTests, name)
                if run.runner == "pytest" and outcome == "error":
                    outcome = "failed"  # pytest does not tell errors from failures here.
                self.assertEqual(run.outcome(django), outcome, run.why(django))
                self.assertEqual(run.outcome(ours), outcome, run.why(ours))
                if outcome != "passed":
                    self.assertIn(VIOLATION, run.details(ours))
                    self.assertIn("IntegrityError", run.details(ours))
            for cls in (cases.DjangoViolationTests, cases.OursViolationTests):
                # The next test is clean, on both aliases, with the class data intact.
                [after] = run.event_data("after", of=cls)
                self.assertEqual(after["counts"], {"default": 0, "other": 0})
                self.assertEqual((after["users"], after["user"]), (1, "class data"))
                [callbacks] = run.event_data("callbacks", of=cls)
                self.assertEqual(callbacks["count"], 1)

    @uses(cases.DjangoAllDatabasesTests, cases.OursAllDatabasesTests)
    def test_all_databases(self):
        for run in self.each_run():
            for cls in (cases.DjangoAllDatabasesTests, cases.OursAllDatabasesTests):
                violates, clean = named(cls, "test_1_violates"), named(cls, "test_2_clean")
                self.assertIn(run.outcome(violates), ("error", "failed"), run.why(violates))
                self.assertIn(VIOLATION, run.details(violates))
                self.assertEqual(run.outcome(clean), "passed", run.why(clean))
                [after] = run.event_data("after", of=cls)
                self.assertEqual(after["counts"], {"default": 0, "other": 0})

    @uses(cases.DjangoUnusableTests, cases.OursUnusableTests)
    def test_an_unusable_connection_behaves_as_in_django(self):
        for run in self.each_run():
            for name in ("test_1_terminated", "test_2_next"):
                django = named(cases.DjangoUnusableTests, name)
                ours = named(cases.OursUnusableTests, name)
                self.assertEqual(run.outcome(ours), run.outcome(django), run.why(ours))
            # Django skips the check on a dead connection: the test itself passes;
            # the next one finds the connection closed.
            terminated = named(cases.OursUnusableTests, "test_1_terminated")
            self.assertEqual(run.outcome(terminated), "passed", run.why(terminated))
            self.assertIn("connection", run.details(named(cases.OursUnusableTests, "test_2_next")))

    @uses(cases.DjangoReleasedSavepointTests, cases.OursReleasedSavepointTests)
    def test_a_savepoint_released_by_the_test_behaves_as_in_django(self):
        for run in self.each_run():
            for name in ("test_1_releases_its_savepoint", "test_2_next"):
                django = named(cases.DjangoReleasedSavepointTests, name)
                ours = named(cases.OursReleasedSavepointTests, name)
                self.assertEqual(run.outcome(ours), run.outcome(django), run.why(ours))
                if run.outcome(django) != "passed":
                    self.assertEqual(
                        run.details(ours).splitlines()[-1],
                        run.details(django).splitlines()[-1],
                    )
            self.assertEqual(
                run.outcome(
                    named(cases.OursReleasedSavepointTests, "test_1_releases_its_savepoint")
                ),
                "passed",
            )


PARALLEL_ARGS = {"unittest": ("--parallel", "2"), "pytest": ("-n", "2", "--dist", "loadscope")}
VIOLATION_CLASSES = (cases.DjangoViolationTests, cases.OursViolationTests)


@unittest.skipUnless(
    BACKEND == "postgresql", "PostgreSQL's protocol (SQLite and MariaDB: no check)"
)
class ParallelRoundTripTests(CaseRunsTests):
    """Two worker processes (Django's --parallel, pytest-xdist): the same outcomes."""

    @classmethod
    def case_runs(cls):
        return {
            runner: Cases.of(cases, runner, *PARALLEL_ARGS[runner], classes=VIOLATION_CLASSES)
            for runner in RUNNERS
        }

    def test_violations_in_parallel(self):
        for runner in RUNNERS:
            run = self.runs[runner]
            for cls in VIOLATION_CLASSES:
                outcomes = {
                    name: run.outcome(named(cls, name))
                    for name in ("test_1_violates", "test_3_violates_on_the_other_alias")
                }
                self.assertEqual(set(outcomes.values()) - {"error", "failed"}, set(), run.output)
                clean = named(cls, "test_7_clean")
                self.assertEqual(run.outcome(clean), "passed", run.why(clean))
                [after] = run.event_data("after", of=cls)
                self.assertEqual(after["counts"], {"default": 0, "other": 0})
            self.assertEqual(len({e["pid"] for e in run.events}), 2, run.output[-3000:])


@unittest.skipUnless(BACKEND == "mysql", "MariaDB's protocol")
class MariaDBRoundTripTests(CaseModuleTests):
    """MariaDB: no deferrable constraints, no check; three round trips, as in Django."""

    module = cases

    @uses(cases.DjangoEmptyTests, cases.OursEmptySyncTests, cases.OursEmptyAsyncTests)
    def test_an_empty_test_takes_three_round_trips_as_in_django(self):
        for run in self.each_run():
            for cls in (
                cases.DjangoEmptyTests,
                cases.OursEmptySyncTests,
                cases.OursEmptyAsyncTests,
            ):
                sent = [
                    e for e in run.event_data("sent", of=cls) if not e["test"].endswith("test_1")
                ]
                self.assertEqual(len(sent), 2, run.output)
                for event in sent:
                    shapes = [s.split(" `")[0] for s in event["statements"]]
                    self.assertEqual(
                        shapes, ["ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT", "SAVEPOINT"], cls
                    )
                    self.assertEqual(event["round_trips"], 3)
