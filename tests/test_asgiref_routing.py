"""Thread-sensitive sync_to_async calls run on the test's thread, in its transaction.

This covers the one private asgiref attribute the library sets
(AsyncToSync.executors, in django_async_testcase/_compat.py), on whichever
asgiref this run has: sync_to_async from the test and its child tasks, the
async ORM, ThreadSensitiveContext, a request through self.async_client and one
through Django's ASGIHandler (which opens a ThreadSensitiveContext), in
AsyncTestCase and AsyncTransactionTestCase; also sync code run that way which
calls async_to_sync (a nested coroutine, an async signal receiver), which runs
on a loop of asgiref's while the test's loop waits, and covers
_compat.detach_from_calling_loop (without it, that deadlocks). The real test classes are in
tests/cases/case_asgiref_routing.py.
"""

import django

from tests.harness import CaseModuleTests

# Rows each test's database code should see: setUp's, plus the one it wrote.
ROWS = {
    "test_sync_to_async": 1,
    "test_sync_to_async_in_child_tasks": 1,
    "test_async_orm": 2,
    "test_thread_sensitive_context": 1,
    "test_async_client": 2,
    "test_asgi_handler": 2,
    "test_sync_orm_call_is_refused": 1,
    "test_await_yields_to_other_tasks": 1,
    "test_nested_async_to_sync": 2,
    "test_async_signal_receiver": 2,
}
# Async signal receivers exist from Django 5.0: skipped before.
SKIPPED = {"test_async_signal_receiver"} if django.VERSION < (5, 0) else set()
# Whether the test's connection is inside an atomic block: TestCase's transaction.
IN_ATOMIC = {"RoutingTests": True, "TransactionRoutingTests": False}
EXPECTED_ROWS = {
    f"{cls}.{method}": rows
    for cls in IN_ATOMIC
    for method, rows in ROWS.items()
    if method not in SKIPPED
}


class AsgirefRoutingTests(CaseModuleTests):
    module = "tests.cases.case_asgiref_routing"

    def test_all_pass(self):
        for run in self.each_run():
            for test in EXPECTED_ROWS:
                self.assertEqual(run.outcome(test), "passed", (test, run.details(test)))
            self.assertEqual(run.returncode, 0, run.output)

    def test_calls_run_on_the_test_thread_inside_its_transaction(self):
        for run in self.each_run():
            for test, rows in EXPECTED_ROWS.items():
                states = [e for e in run.event_data("state") if e["test"] == test]
                self.assertTrue(states, (run.runner, test, run.details(test)))
                in_atomic = IN_ATOMIC[test.split(".")[0]]
                for state in states:
                    seen = (state["thread"], state["in_atomic"], state["rows"])
                    self.assertEqual(seen, ("MainThread", in_atomic, rows), (run.runner, state))

    def test_async_orm_sees_the_same_rows(self):
        for run in self.each_run():
            for cls in IN_ATOMIC:
                test = f"{cls}.test_async_orm"
                counts = [e["orm_rows"] for e in run.event_data("state") if e["test"] == test]
                self.assertEqual(counts, [2], (run.runner, run.details(test)))

    def test_rows_are_rolled_back_or_flushed(self):
        for run in self.each_run():
            after = run.event_data("rows_after")
            self.assertEqual(len(after), len(EXPECTED_ROWS), run.output)
            self.assertEqual({e["rows"] for e in after}, {0}, after)
