#!/usr/bin/env python
"""How long a test using django-async-backend's ORM takes: its AsyncioTestCase against ours.

    DJANGO_ASYNC_TESTCASE_DB=postgresql python benchmarks/bench_async_backend.py \
        [--n 200] [--rounds 5] [--queries 2]

Needs django-async-backend (``pip install 'django-async-testcase[async-backend]'``)
and PostgreSQL; uses the suite's settings (tests/settings_async_backend.py).
Generates, in a temporary package, suites of N tests, each test making
``--queries`` pairs of queries with the async ORM (``acreate`` then ``acount``):

- ``theirs``: ``django_async_backend.test.AsyncioTestCase``, the speed anchor
  (its queries run on its own psycopg async connection; it cannot see the rows
  of Django's ORM, and gives Django's ORM no transaction);
- ``ours``: ``django_async_testcase.AsyncTestCase`` (the async ORM runs on the
  test's own connection, through its database worker, in its transaction);
- ``ours-django-orm``: ``AsyncTestCase`` with Django's own ``a``-methods
  (``Item.objects.acreate``/``acount``), for comparison.

Each suite runs in its own ``run_cases``-like process; the suites take turns
in every round. Only the test run is timed (``run_suite``); the result is the
median over the rounds of (time of the run) / N, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("theirs", "ours", "ours-django-orm")
LABELS = {
    "theirs": "django-async-backend AsyncioTestCase, async ORM",
    "ours": "AsyncTestCase, async ORM (django-async-backend)",
    "ours-django-orm": "AsyncTestCase, Django's a-methods",
}
TESTS_PER_CLASS = 10

HEADER = {
    "theirs": (
        "from django_async_backend.test import AsyncioTestCase as Base\n"
        "from tests.testapp.models import Item\n"
    ),
    "ours": "from django_async_testcase import AsyncTestCase as Base\n"
    "from tests.testapp.models import Item\n",
    "ours-django-orm": "from django_async_testcase import AsyncTestCase as Base\n"
    "from tests.testapp.models import Item\n",
}
MANAGER = {"theirs": "async_objects", "ours": "async_objects", "ours-django-orm": "objects"}

RUNNER = """\
import json, os, sys, time
sys.path[:0] = [{root!r}, {package_dir!r}]
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings_async_backend"
import django
django.setup()
from django.test.runner import DiscoverRunner

class Timed(DiscoverRunner):
    def run_suite(self, suite, **kwargs):
        start = time.perf_counter()
        result = super().run_suite(suite, **kwargs)
        self.seconds = time.perf_counter() - start
        return result

runner = Timed(verbosity=0, interactive=False)
failures = runner.run_tests([{module!r}])
print(json.dumps({{"seconds": runner.seconds, "failures": failures}}))
"""


def suite_source(suite: str, n: int, queries: int) -> str:
    """The module of ``suite``: N tests in classes of TESTS_PER_CLASS."""
    manager = MANAGER[suite]
    body = "".join(
        f"        await Item.{manager}.acreate(name='x')\n"
        f"        assert await Item.{manager}.acount() == {i + 1}\n"
        for i in range(queries)
    )
    classes = []
    for c in range((n + TESTS_PER_CLASS - 1) // TESTS_PER_CLASS):
        count = min(TESTS_PER_CLASS, n - c * TESTS_PER_CLASS)
        methods = "".join(f"    async def test_{t}(self):\n{body}\n" for t in range(count))
        classes.append(f"class Bench{c}(Base):\n{methods}")
    return HEADER[suite] + "\n\n" + "\n\n".join(classes)


def run_suite(directory: Path, suite: str) -> float:
    """Run one generated suite in a new process; its run time in seconds."""
    module = f"bench_{suite.replace('-', '_')}"
    script = RUNNER.format(root=str(ROOT), package_dir=str(directory), module=module)
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DAT_DB_SUFFIX": f"bench{os.getpid()}"},
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise RuntimeError(f"{suite} failed:\n{out.stdout}\n{out.stderr}")
    result = json.loads(lines[-1])
    if result["failures"]:
        raise RuntimeError(f"{suite}: {result['failures']} failures\n{out.stderr}")
    return float(result["seconds"])


def benchmark(n: int, rounds: int, queries: int) -> dict:
    """{suite: ms per test} (medians over ``rounds``), and the ratio ours/theirs."""
    with tempfile.TemporaryDirectory(prefix="dat-bench-ab-") as tmp:
        directory = Path(tmp)
        for suite in SUITES:
            source = suite_source(suite, n, queries)
            (directory / f"bench_{suite.replace('-', '_')}.py").write_text(source)
        times: dict[str, list[float]] = {suite: [] for suite in SUITES}
        for round_ in range(rounds):
            for suite in SUITES:
                seconds = run_suite(directory, suite)
                times[suite].append(seconds * 1000 / n)
                print(f"round {round_ + 1}: {suite}: {seconds * 1000 / n:.3f} ms/test", flush=True)
    medians = {suite: statistics.median(values) for suite, values in times.items()}
    return {
        "n": n,
        "rounds": rounds,
        "queries": queries * 2,
        "ms_per_test": medians,
        "ours/theirs": medians["ours"] / medians["theirs"],
    }


def table(summary: dict) -> str:
    rows = [
        f"{LABELS[suite]:<50} {ms:8.3f} ms/test" for suite, ms in summary["ms_per_test"].items()
    ]
    title = (
        f"{summary['n']} tests, {summary['queries']} async-ORM queries each, "
        f"median of {summary['rounds']} rounds"
    )
    return "\n".join([title, *rows, f"ours / theirs: {summary['ours/theirs']:.2f}"]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=1, help="pairs of queries per test")
    options = parser.parse_args()
    print(table(benchmark(options.n, options.rounds, options.queries)))


if __name__ == "__main__":
    main()
