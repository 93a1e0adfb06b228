"""The lifecycle of AsyncSimpleTestCase, AsyncTestCase and AsyncTransactionTestCase.

Each check runs the real test classes of tests/cases/case_lifecycle.py under
Django's runner and under pytest, on the backend this run uses.
"""

import importlib.util

from tests.cases import case_lifecycle as cases
from tests.harness import CaseModuleTests, uses

# Skipped where uvloop is not installed (not on Windows, nor some Pythons).
HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None
UVLOOP_TEST = "UvloopTests.test_database_calls"

EXPECTED_ORDER = [
    ("setUp", "unset"),
    ("asyncSetUp", "setUp"),
    ("test", "asyncSetUp"),
    ("asyncTearDown", "test"),
    ("tearDown", "asyncTearDown"),
    ("cleanup third", "tearDown"),
    ("cleanup second", "tearDown"),
    ("cleanup first", "tearDown"),
]


class LifecycleTests(CaseModuleTests):
    module = cases

    def test_all_pass(self):
        for run in self.each_run():
            self.assert_all_passed(run, skipped=() if HAS_UVLOOP else {UVLOOP_TEST})

    @uses(cases.SimpleOrderTests, cases.OrderTests, cases.TransactionOrderTests)
    def test_order_and_shared_context(self):
        for run in self.each_run():
            for cls in (cases.SimpleOrderTests, cases.OrderTests, cases.TransactionOrderTests):
                for method in ("test_async", "test_sync"):
                    test = f"{cls.__name__}.{method}"
                    events = [
                        e
                        for e in run.events
                        if e["test"] == test
                        and e["event"] != "rows_after"
                        and e["event"] != "previous_loop"
                    ]
                    self.assertEqual([(e["event"], e["var"]) for e in events], EXPECTED_ORDER, test)
                    # asyncSetUp, the test, asyncTearDown and async cleanups share one loop.
                    same = [e["same_loop"] for e in events if e.get("same_loop") is not None]
                    self.assertTrue(same and all(same), (test, events))
                    self.assertEqual(events[0]["thread"], "MainThread")

    @uses(cases.SimpleOrderTests, cases.OrderTests, cases.TransactionOrderTests)
    def test_fresh_loop_per_test(self):
        for run in self.each_run():
            previous = run.event_data("previous_loop")
            self.assertTrue(previous, run.output)
            for event in previous:
                self.assertEqual((event["closed"], event["different"]), (True, True), event)

    @uses(cases.WritesTests, cases.TransactionWritesTests)
    def test_database_calls_run_on_the_test_thread_in_its_transaction(self):
        for run in self.each_run():
            for event in ("asyncSetUp db", "test db", "cleanup db"):
                data = run.event_data(event)
                self.assertEqual(len(data), 2 if event == "test db" else 6, (event, run.output))
                for item in data:
                    thread, in_atomic = item["state"]
                    self.assertEqual(thread, "MainThread")
                    self.assertEqual(in_atomic, item["test"].startswith("WritesTests"), item)

    @uses(
        cases.WritesTests,
        cases.TransactionWritesTests,
        cases.OrderTests,
        cases.TransactionOrderTests,
        cases.UvloopTests,
        cases.MixinTests,
    )
    def test_writes_in_every_step_are_visible_then_gone(self):
        for run in self.each_run():
            names = run.event_data("test db")
            for event in names:
                self.assertEqual(event["names"], ["setUp", "asyncSetUp", "test"])
            rows_after = run.event_data("rows_after")
            self.assertTrue(rows_after)
            for event in rows_after:
                self.assertEqual(set(event["counts"].values()) - {0}, set(), event)

    @uses(cases.LoopSettingsTests, cases.DebugOffTests)
    def test_loop_factory_and_debug_attributes(self):
        for run in self.each_run():
            [made] = run.event_data("loop", of=cases.LoopSettingsTests)
            self.assertEqual((made["from_factory"], made["debug"]), (True, True))
            [off] = run.event_data("loop", of=cases.DebugOffTests)
            self.assertIs(off["debug"], False)

    @uses(cases.UvloopTests)
    def test_uvloop_as_loop_factory(self):
        for run in self.each_run():
            if not HAS_UVLOOP:
                self.assertEqual(run.outcome(UVLOOP_TEST), "skipped", run.output)
                continue
            self.assertEqual(run.outcome(UVLOOP_TEST), "passed", run.output)
            [event] = run.event_data("uvloop")
            self.assertEqual(event["loop"], "uvloop")
            self.assertEqual(event["state"], ["MainThread", True])
            self.assertIs(event["yielded"], True)
            self.assertEqual(event["counts"], [1, 1])

    @uses(cases.MixinTests)
    def test_async_test_from_a_plain_mixin(self):
        for run in self.each_run():
            # Inherited from a mixin: named by the class that runs it.
            self.assertEqual(run.outcome("MixinTests.test_from_mixin"), "passed")
            [event] = run.event_data("mixin test")
            self.assertEqual(event["state"], ["MainThread", True])
