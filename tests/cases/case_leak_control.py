"""Control for case_leak.py: Django's TestCase with IsolatedAsyncioTestCase mixed in.

Its loop runs on the test's thread, so the ORM's sync_to_async calls go to
asgiref's one global thread and its own connection, outside the test's
transaction: the rows are committed. On PostgreSQL they leak into later
tests, and the test database cannot be dropped at the end.
"""

import unittest

from django import test as django_test

from tests.cases.case_leak import RowsLeftBehind, WritesInAsyncSetUp


class LeakAsyncWrites(WritesInAsyncSetUp, django_test.TestCase, unittest.IsolatedAsyncioTestCase):
    pass


class LeakRowsLeftBehind(RowsLeftBehind, django_test.TestCase):
    pass
