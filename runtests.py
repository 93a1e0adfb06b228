#!/usr/bin/env python
"""Run the project's tests with Django's test runner, as ``manage.py test`` does.

    python runtests.py [labels] [any option of ``manage.py test``, e.g. --parallel 2]

The database backend is SQLite unless DJANGO_ASYNC_TESTCASE_DB says
postgresql or mysql (see tests/settings.py).
"""

import os
import sys
from pathlib import Path


def main() -> None:
    root = Path(__file__).resolve().parent
    sys.path.insert(0, str(root))
    os.chdir(root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:]
    if not any(not arg.startswith("-") and not arg.isdigit() for arg in args):
        args = ["tests", *args]
    # Never stop to ask about a test database left by an interrupted run.
    execute_from_command_line([sys.argv[0], "test", "--noinput", *args])


if __name__ == "__main__":
    main()
