"""The plugin: pytest-django's per-test protocol in fewer round trips, with its semantics.

Runs tests/plugin_cases/test_roundtrips.py with the plugin and without it (the
control) on PostgreSQL.
"""

import unittest

from tests.harness import PLUGIN_CASES, PluginSessionTestCase, run_session
from tests.settings import BACKEND
from tests.test_roundtrips import VIOLATION, counted

FILE = f"{PLUGIN_CASES}/test_roundtrips.py"
DJANGO_END = [
    "SELECT 1",
    "SET CONSTRAINTS ALL IMMEDIATE",
    "SET CONSTRAINTS ALL DEFERRED",
    "ROLLBACK",
]


def sent(session):
    return {
        e["name"]: (e["statements"], e["round_trips"])
        for e in session.events
        if e["event"] == "sent"
    }


@unittest.skipUnless(
    BACKEND == "postgresql", "PostgreSQL's protocol (SQLite and MariaDB: no check)"
)
class PluginRoundTripTests(PluginSessionTestCase):
    PREFETCH = (((FILE,), {}), ((FILE,), {"plugin": False}))

    @counted
    def test_round_trips(self):
        session = run_session(FILE)
        by_test = sent(session)
        # An empty test sends nothing: nothing ran in its transaction.
        for name in ("test_2_empty", "test_3_empty_async", "test_4_writes"):
            self.assertEqual(by_test[name], ([], 0), session)
        # A test that wrote: BEGIN, its statement, then one round trip for the end.
        statements, round_trips = by_test["test_5_after_writes"]
        self.assertEqual(round_trips, 3, statements)
        self.assertEqual(statements[0], "BEGIN")
        self.assertTrue(statements[1].startswith("INSERT"), statements)
        self.assertEqual(
            statements[2], "SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED; ROLLBACK"
        )

    @counted
    def test_control_round_trips(self):
        session = run_session(FILE, plugin=False)
        by_test = sent(session)
        self.assertEqual(by_test["test_2_empty"], (["BEGIN", *DJANGO_END], 5), session)
        statements, round_trips = by_test["test_5_after_writes"]
        self.assertEqual(round_trips, 6, statements)
        self.assertEqual(statements[2:], DJANGO_END)

    def test_violations_fail_as_in_django_and_are_rolled_back(self):
        expected = {
            "test_6_violates": "error",
            "test_7_violates_async": "error",
            "test_8_violates_marked_for_rollback": "passed",
            "test_9_clean": "passed",
        }
        session = run_session(FILE)
        self.assertOutcomes(session, expected)
        for name in ("test_6_violates", "test_7_violates_async"):
            self.assertIn(VIOLATION, session.messages[name])
            self.assertIn("IntegrityError", session.messages[name])
        [after] = [e for e in session.events if e["event"] == "after"]
        self.assertEqual((after["count"], after["items"]), (0, 0))
        self.assertEqual(session.leftover, [], session)

    def test_control_violations(self):
        session = run_session(FILE, plugin=False)
        # The sync tests: pytest-django's own protocol, the same outcomes.
        self.assertOutcomes(
            session,
            {
                "test_6_violates": "error",
                "test_8_violates_marked_for_rollback": "passed",
            },
        )
        self.assertIn(VIOLATION, session.messages["test_6_violates"])
