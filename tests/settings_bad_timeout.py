"""tests.settings with a wrong ASYNC_TESTCASE_TIMEOUT (a string), for tests/test_settings_check.py.

``DAT_WITH_APP=1`` also puts the library's app config in INSTALLED_APPS.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

ASYNC_TESTCASE_TIMEOUT = "5"

if os.environ.get("DAT_WITH_APP"):
    INSTALLED_APPS = [*INSTALLED_APPS, "django_async_testcase"]
