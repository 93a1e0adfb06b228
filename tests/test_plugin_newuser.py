"""The pytest plugin and a new user's mistakes in function tests (issue 18).

Runs tests/plugin_cases/test_newuser.py in real pytest sessions (see
tests/harness.py: ``PluginSession``), with the plugin and without it (the control).
"""

from tests.cases.case_newuser import CLIENT_GET, CLIENT_GET_WHERE
from tests.harness import PLUGIN_CASES, PluginSessionTestCase, run_session

FILE = f"{PLUGIN_CASES}/test_newuser.py"
WIDE_FIXTURE = (
    "The module-scoped async fixture 'module_rows' uses django_db_blocker: what it writes "
    "under django_db_blocker.unblock() is committed"
)


class NewUserPluginTests(PluginSessionTestCase):
    PREFETCH = (((FILE,), {}), ((FILE,), {"plugin": False}))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.session = run_session(FILE)

    def test_forgotten_awaits_are_named_in_the_failure(self):
        session = self.session
        self.assertOutcomes(
            session,
            {
                "test_forgotten_await": "failed",
                "test_forgotten_await_without_db": "failed",
                "test_uses_module_rows": "passed",
            },
        )
        message = session.messages["test_forgotten_await"]
        self.assertIn("AttributeError: 'coroutine' object has no attribute 'status_code'", message)
        self.assertIn(
            f"Coroutine '{CLIENT_GET}' was never awaited (a forgotten `await`?): `response` "
            f"in test_forgotten_await() holds it, {CLIENT_GET_WHERE}",
            message,
        )
        self.assertIn('response = async_client.get("/items/")', message)
        self.assertIn(
            "Coroutine 'pause' was never awaited (a forgotten `await`?): `pending` in "
            "test_forgotten_await_without_db() holds it, still unstarted at",
            session.messages["test_forgotten_await_without_db"],
        )
        # Closed once named: no RuntimeWarning at the end of the session.
        self.assertNotIn("was never awaited\n", session.output)

    def test_wide_async_fixture_that_unblocks_the_database_warns(self):
        session = self.session
        self.assertEqual(session.output.count(WIDE_FIXTURE), 1, session)
        self.assertIn("Make it a function-scoped fixture that asks for `db`", session.output)
        self.assertIn("CommittingFixtureWarning", session.output)
        self.assertIn("test_newuser.py:", session.output)  # Points at the fixture.

    def test_control(self):
        session = run_session(FILE, plugin=False)
        self.assertNotIn(f"Coroutine '{CLIENT_GET}' was never awaited", session.output)
        self.assertNotIn(WIDE_FIXTURE, session.output)
