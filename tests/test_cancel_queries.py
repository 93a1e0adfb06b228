"""In-process tests of _cancel_queries on the backend of this run: a cancel reaches
only a query in flight, from another thread, and never the connection's next query."""

import threading
import time

from django.db import connections
from django.test import TransactionTestCase

from django_async_testcase import _cancel_queries
from tests.cases.case_stuck import STUCK_QUERY


class QueryCancellerTests(TransactionTestCase):
    databases = {"default"}

    def setUp(self):
        self.connection = connections["default"]
        self.connection.ensure_connection()
        self.canceller = _cancel_queries.QueryCanceller()
        self.canceller.watch([self.connection])
        self.addCleanup(self.canceller.unwatch)

    def query(self, sql="SELECT 1"):
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]

    def test_idle_connection_is_not_touched(self):
        self.query()
        self.assertEqual(self.canceller.cancel(), [])
        self.assertEqual(self.query(), [(1,)])

    def test_cancel_of_an_idle_connection_does_not_kill_its_next_query(self):
        # What the lock guards against, forced: a cancel request that reaches
        # the server just after the query ended (the backend ignores it).
        self.query()
        mysql_id = None
        if self.connection.vendor == "mysql":
            mysql_id = (self.connection.connection, self.connection.connection.thread_id())
        self.assertTrue(_cancel_queries._cancel(self.connection, mysql_id))
        time.sleep(0.1)
        self.assertEqual(self.query(), [(1,)])
        self.assertEqual(self.query(), [(1,)])

    def test_query_in_flight_is_cancelled_from_another_thread(self):
        self.connection.inc_thread_sharing()
        self.addCleanup(self.connection.dec_thread_sharing)
        errors = []
        started = threading.Event()

        def run():
            started.set()
            try:
                self.query(STUCK_QUERY[self.connection.vendor])
            except Exception as exc:
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        started.wait(5)
        deadline = time.monotonic() + 5
        cancelled = []
        while not cancelled and time.monotonic() < deadline:
            time.sleep(0.1)
            cancelled = self.canceller.cancel()
        thread.join(5)
        self.assertFalse(thread.is_alive())
        self.assertEqual(cancelled, ["default"])
        if self.connection.vendor != "mysql":  # MariaDB's SLEEP() returns 1 when killed.
            self.assertEqual(len(errors), 1, errors)
        self.assertEqual(self.query(), [(1,)])
