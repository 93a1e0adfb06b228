#!/usr/bin/env python
"""The example project's manage.py: ``python example/manage.py test`` runs its tests.

It uses the installed django-async-testcase, or the one of this checkout if it
is not installed.
"""

import os
import sys
from pathlib import Path


def main() -> None:
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    try:
        import django_async_testcase  # noqa: F401
    except ImportError:
        sys.path.insert(1, str(here.parent))
    # Test discovery starts in the current directory: this project's.
    os.chdir(here)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exampleproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
