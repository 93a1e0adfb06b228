"""In-process unit tests of the guards' pure parts: the budget's steps, the policy's hints.

A task may run several steps (anyio runs a test and its fixtures in one task):
the budget watches each step, not the task's whole life.
"""

import asyncio

from django.test import SimpleTestCase

from django_async_testcase._compat import cancel_requested
from django_async_testcase.guards import AsyncTestTimeout, GuardPolicy
from django_async_testcase.guards._timeouts import Budget


class BudgetStepTests(SimpleTestCase):
    def test_a_step_over_the_budget_fails_and_its_task_goes_on(self):
        async def main():
            task = asyncio.current_task()
            budget = Budget(0.05, "the origin", None)
            budget.watch(asyncio.get_running_loop(), task)
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                pass
            with self.assertRaisesMessage(AsyncTestTimeout, "0.05 s (the origin)"):
                budget.check(task)
            await asyncio.sleep(0)  # Not cancelled again: the task runs its next step.
            return cancel_requested(task)

        self.assertFalse(asyncio.run(main()))

    def test_a_late_expiry_of_an_ended_step_is_ignored(self):
        async def main():
            loop = asyncio.get_running_loop()
            task = asyncio.current_task()
            budget = Budget(60, "the origin", None)
            budget.watch(loop, task)
            ended = budget._steps[id(task)]
            budget.check(task)
            budget.watch(loop, task)  # The task's next step.
            budget._expire(task, ended)  # The first step's expiry, arriving late.
            await asyncio.sleep(0)
            budget.check(task)
            return "not cancelled"

        self.assertEqual(asyncio.run(main()), "not cancelled")

    def test_the_wait_is_shown_from_the_steps_source(self):
        async def fixture():
            await asyncio.Event().wait()
            yield

        async def main():
            loop = asyncio.get_running_loop()
            task = asyncio.current_task()
            generator = fixture()
            budget = Budget(0.05, "the origin", None)
            # An async generator's step: the task awaits its asend, which shows no frames.
            budget.watch(loop, task, generator)
            try:
                await generator.__anext__()
            except asyncio.CancelledError:
                pass
            with self.assertRaises(AsyncTestTimeout) as caught:
                budget.check(task)
            return str(caught.exception)

        self.assertIn("in fixture\n    await asyncio.Event().wait()", asyncio.run(main()))


class GuardPolicyTests(SimpleTestCase):
    def test_opt_out_hints(self):
        cls = GuardPolicy(test="t", opt_out="set `{option} = True` on MyTests")
        mark = GuardPolicy(test="t", opt_out="mark the test @pytest.mark.{option}")
        self.assertEqual(
            cls.allow_hint("allow_leftover_tasks"), "set `allow_leftover_tasks = True` on MyTests"
        )
        self.assertEqual(
            mark.allow_hint("allow_never_awaited"),
            "mark the test @pytest.mark.allow_never_awaited",
        )
