#!/usr/bin/env python
"""Run Django's own test suite with its test case bases swapped for ours.

    python scripts/django_suite_swapped.py DJANGO_TESTS_DIR [runtests.py arguments]

DJANGO_TESTS_DIR is the ``tests`` directory of a Django source tree of the
installed version, e.g. from the sdist::

    pip download --no-binary :all: --no-deps "django==$(python -m django --version)" -d /tmp/dj
    tar xzf /tmp/dj/django-*.tar.gz -C /tmp/dj
    python scripts/django_suite_swapped.py /tmp/dj/django-*/tests basic async --parallel 1

Before Django's test modules are imported, ``django.test.TestCase``,
``TransactionTestCase`` and ``LiveServerTestCase`` become
django_async_testcase's classes (in ``django.test`` and
``django.test.testcases``), so every test class of the suite that names them
runs on ours; at the end it prints how many classes did. ``SimpleTestCase``
is left alone: Django checks ``issubclass(cls, SimpleTestCase)`` (in
``override_settings``, for one) against whatever ``django.test`` holds, which
the other swapped classes would fail. Pass ``--no-swap`` to run the same labels
unchanged, for comparison.
"""

import os
import runpy
import sys
from pathlib import Path

SWAPS = {
    "TestCase": "AsyncTestCase",
    "TransactionTestCase": "AsyncTransactionTestCase",
    "LiveServerTestCase": "AsyncLiveServerTestCase",
}


def swap_bases() -> None:
    import django.test
    import django.test.testcases

    import django_async_testcase

    for django_name, our_name in SWAPS.items():
        ours = getattr(django_async_testcase, our_name)
        setattr(django.test, django_name, ours)
        setattr(django.test.testcases, django_name, ours)


def main(argv: list) -> None:
    if not argv or argv[0].startswith("-"):
        sys.exit(__doc__)
    tests_dir = Path(argv[0]).resolve()
    args = argv[1:]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if "--no-swap" in args:
        args.remove("--no-swap")
    else:
        swap_bases()
    os.chdir(tests_dir)
    sys.path.insert(0, str(tests_dir))
    sys.argv = [str(tests_dir / "runtests.py"), *args]
    try:
        runpy.run_path(str(tests_dir / "runtests.py"), run_name="__main__")
    finally:
        report_swapped()


def report_swapped() -> None:
    import django_async_testcase

    for our_name in SWAPS.values():
        base = getattr(django_async_testcase, our_name)
        classes, todo = set(), [base]
        while todo:
            for sub in todo.pop().__subclasses__():
                if sub not in classes:
                    classes.add(sub)
                    todo.append(sub)
        users = [cls for cls in classes if not cls.__module__.startswith("django_async_testcase")]
        print(f"{len(users)} classes of the suite subclass {our_name}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
