"""In-process unit tests of django_async_testcase/_checks.py: no subprocess, no database.

The meta-tests (test_misuse, test_test_data) check the same messages as the
runners print them; these give the inner loop a fast check of the rules.
"""

import functools

from django.test import SimpleTestCase, TestCase

from django_async_testcase import _checks


async def coroutine_function():
    pass


def plain_function():
    pass


class AsyncCallable:
    async def __call__(self):
        pass


class SyncCallable:
    def __call__(self):
        pass


class IsAsyncCallableTests(SimpleTestCase):
    def test_coroutine_functions_and_async_callables(self):
        self.assertTrue(_checks.is_async_callable(coroutine_function))
        self.assertTrue(_checks.is_async_callable(AsyncCallable()))
        self.assertTrue(_checks.is_async_callable(functools.partial(coroutine_function)))

    def test_everything_else(self):
        for obj in (plain_function, SyncCallable(), AsyncCallable, SyncCallable, 42, None, len):
            with self.subTest(obj=obj):
                self.assertFalse(_checks.is_async_callable(obj))


class ClassHookTests(SimpleTestCase):
    def test_async_class_hooks_are_named_with_their_fix(self):
        class Hooks(SimpleTestCase):
            @classmethod
            async def setUpClass(cls):
                pass

            @classmethod
            async def tearDownClass(cls):
                pass

        errors = _checks.async_class_hook_errors(Hooks)
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("Hooks.setUpClass is defined with `async def`", errors[0])
        self.assertIn("override it with a plain def", errors[0])
        self.assertIn("asyncSetUpTestData", errors[0])
        self.assertIn("Hooks.tearDownClass is defined with `async def`", errors[1])

    def test_async_set_up_test_data(self):
        class Data(TestCase):
            @classmethod
            async def setUpTestData(cls):
                pass

        [error] = _checks.async_class_hook_errors(Data)
        self.assertIn("Data.setUpTestData is defined with `async def`", error)
        self.assertIn("plain classmethod", error)
        self.assertIn("`async def asyncSetUpTestData(cls)`", error)

    def test_async_set_up_test_data_needs_a_test_case(self):
        class NoTransactions(SimpleTestCase):
            @classmethod
            async def asyncSetUpTestData(cls):
                pass

        [error] = _checks.async_class_hook_errors(NoTransactions)
        self.assertIn("only AsyncTestCase runs it. Use asyncSetUp", error)

    def test_sync_hooks_are_fine(self):
        class Fine(TestCase):
            @classmethod
            def setUpClass(cls):
                pass

            @classmethod
            def setUpTestData(cls):
                pass

            @classmethod
            async def asyncSetUpTestData(cls):
                pass

        self.assertEqual(_checks.async_class_hook_errors(Fine), [])


class AsyncTestDataTests(SimpleTestCase):
    def test_async_classmethod_passes(self):
        class Good:
            @classmethod
            async def asyncSetUpTestData(cls):
                pass

        _checks.check_async_test_data(Good)

    def test_not_a_classmethod(self):
        class NotAClassmethod:
            async def asyncSetUpTestData(cls):
                pass

        with self.assertRaisesMessage(
            TypeError, "must be defined as `@classmethod async def asyncSetUpTestData(cls)`."
        ):
            _checks.check_async_test_data(NotAClassmethod)

    def test_sync(self):
        class Sync:
            @classmethod
            def asyncSetUpTestData(cls):
                pass

        with self.assertRaisesMessage(TypeError, "; put synchronous code in setUpTestData."):
            _checks.check_async_test_data(Sync)


class TestHookTests(SimpleTestCase):
    def test_async_set_up_and_tear_down(self):
        class Test:
            async def setUp(self):
                pass

            async def tearDown(self):
                pass

        with self.assertRaisesMessage(TypeError, "Define `async def asyncSetUp(self)` instead."):
            _checks.check_sync_test_hook(Test(), "setUp")
        with self.assertRaisesMessage(TypeError, "Test.tearDown is defined with `async def`"):
            _checks.check_sync_test_hook(Test(), "tearDown")

    def test_sync_set_up_passes(self):
        class Test:
            def setUp(self):
                pass

        _checks.check_sync_test_hook(Test(), "setUp")

    def test_sync_async_hooks(self):
        class Test:
            def asyncSetUp(self):
                pass

            def asyncTearDown(self):
                pass

        with self.assertRaisesMessage(TypeError, "must be defined with `async def`; put "):
            _checks.check_async_hook(Test(), "asyncSetUp")
        with self.assertRaisesMessage(TypeError, "put synchronous code in setUp."):
            _checks.check_async_hook(Test(), "asyncSetUp")
        with self.assertRaisesMessage(TypeError, "put synchronous code in tearDown."):
            _checks.check_async_hook(Test(), "asyncTearDown")

    def test_async_hooks_pass(self):
        class Test:
            async def asyncSetUp(self):
                pass

        _checks.check_async_hook(Test(), "asyncSetUp")

    def test_async_cleanup(self):
        _checks.check_async_cleanup(coroutine_function)
        _checks.check_async_cleanup(AsyncCallable())
        with self.assertRaisesMessage(TypeError, "register synchronous callables with addCleanup"):
            _checks.check_async_cleanup(plain_function)
