#!/usr/bin/env python
"""How long an async Django test takes: Django's own path against AsyncTestCase.

    python benchmarks/bench.py [--n 400] [--rounds 5] [--db sqlite] [--db postgresql]
                               [--per-class 10] [--suites sync,ours_sync] [--docs docs]

Generates a small Django project in a temporary directory with four suites of
N tests, in classes of ``--per-class`` tests (10 by default), each test creating
one row and counting the rows (``--body empty``: doing nothing, to see what
running a test costs by itself):

- ``sync``: ``django.test.TestCase`` with plain methods (the floor);
- ``native``: ``django.test.TestCase`` with ``async def`` methods (Django's path:
  one ``async_to_sync``, so one new thread and event loop, per test);
- ``ours``: ``django_async_testcase.AsyncTestCase`` with ``async def`` methods;
- ``ours_sync``: ``django_async_testcase.AsyncTestCase`` with plain methods.

Statement log (PostgreSQL): after the timed rounds, each suite runs once more
with libpq's trace of its connections (psycopg 3). The summary keeps the
statements between the start of a test in the middle of a class and the start
of the next (the test's own statements, its end and the next one's start), and
the server round trips per test over the whole run.

Each suite runs in its own ``manage.py test`` process, and the suites take
turns in every round, so that a change in the machine's load hits all three.
Only the test run is timed: a test runner measures around ``run_suite``
(setUpClass, the tests and tearDownClass of every class), not Python's start-up,
the test database's creation or the migrations. The result is the median over
the rounds of (time of the run) / N.

Memory: each suite also runs with 10 x N tests; the growth of the process's
peak resident memory from N to 10 x N tests is compared with the sync suite's.
After every run the runner also counts threads, event loops, open file
descriptors and open database connections before and after ``run_suite``: a
difference is reported as something left behind.

``--design LABEL=PATH`` (repeatable) adds a suite ``ours@LABEL``: the ``ours``
tests, run with the package of another checkout at PATH (for example an earlier
design of the engine), interleaved with the others in the same rounds.

``--docs DIR`` writes DIR/_static/benchmark.svg (the chart) and
DIR/_static/benchmark-results.txt (the reStructuredText table the docs include);
with ``--body empty``, benchmark-empty.svg and benchmark-empty-results.txt.
The packages used are those of the Python that runs this script.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("sync", "native", "ours", "ours_sync")
LABELS = {
    "sync": "TestCase, sync methods",
    "native": "TestCase, async methods",
    "ours": "AsyncTestCase, async methods",
    "ours_sync": "AsyncTestCase, sync methods",
}
TESTS_PER_CLASS = 10


def label(suite: str) -> str:
    """The table's name of ``suite`` (``ours@LABEL`` for another design)."""
    base, _, design = suite.partition("@")
    return LABELS[base] + (f" ({design})" if design else "")


# --- the generated project ---------------------------------------------------

SETTINGS = """\
import os

BACKEND = os.environ.get("BENCH_DB", "sqlite")
if BACKEND == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "bench.sqlite3"}}
elif BACKEND == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "bench",
            "HOST": os.environ.get("BENCH_DB_HOST", "127.0.0.1"),
            "PORT": os.environ.get("BENCH_DB_PORT", "5432"),
            "USER": os.environ.get("BENCH_DB_USER", "postgres"),
            "PASSWORD": os.environ.get("BENCH_DB_PASSWORD", ""),
            "TEST": {"NAME": f"test_bench_{os.getpid()}"},
        }
    }
else:
    raise ValueError(f"BENCH_DB={BACKEND!r}: use sqlite or postgresql")
INSTALLED_APPS = ["benchapp"]
SECRET_KEY = "benchmark"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
TEST_RUNNER = "benchrunner.TimingRunner"
"""

MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsettings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

MODELS = """\
from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=20)
"""

RUNNER = '''\
"""Times run_suite only, and counts what the run leaves behind."""

import asyncio
import gc
import json
import os
import resource
import sys
import threading
import time
import unittest

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.test.runner import DiscoverRunner

TRACE = os.environ.get("BENCH_TRACE")


def _mark(text):
    with open(TRACE, "a") as trace:
        trace.write(f"### {text}\\n")


def _trace(sender, connection, **kwargs):
    # libpq's trace of the connection's messages (psycopg 3 only).
    pgconn = getattr(connection.connection, "pgconn", None)
    if pgconn is None:
        return
    from psycopg import pq

    pgconn.trace(os.open(TRACE, os.O_WRONLY | os.O_APPEND | os.O_CREAT))
    pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)


if TRACE:
    connection_created.connect(_trace)


def _rss_kib():
    if not os.path.exists("/proc/self/statm"):
        return None
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _fds():
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def _resources():
    gc.collect()
    objects = gc.get_objects()
    loops = [obj for obj in objects if isinstance(obj, asyncio.AbstractEventLoop)]
    wrappers = [obj for obj in objects if isinstance(obj, BaseDatabaseWrapper)]
    return {
        "threads": threading.active_count(),
        "open loops": sum(not loop.is_closed() for loop in loops),
        "connections": sum(wrapper.connection is not None for wrapper in wrappers),
        "fds": _fds(),
    }


class TimingRunner(DiscoverRunner):
    def get_resultclass(self):
        base = super().get_resultclass() or unittest.TextTestResult
        if not TRACE:
            return base

        class MarkingResult(base):
            def startTest(self, test):
                _mark(f"test {test.id()}")
                super().startTest(test)

        return MarkingResult

    def run_suite(self, suite, **kwargs):
        tests = suite.countTestCases()
        before = _resources()
        rss_before = _rss_kib()
        if TRACE:
            _mark("run")
        start, cpu_start = time.perf_counter(), time.process_time()
        result = super().run_suite(suite, **kwargs)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        if TRACE:
            _mark("end")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":  # bytes there, KiB on Linux
            peak //= 1024
        after = _resources()
        with open(os.environ["BENCH_RESULT"], "w") as out:
            json.dump(
                {
                    "tests": tests,
                    "seconds": elapsed,
                    "cpu_seconds": cpu,
                    "ok": result.wasSuccessful() and result.testsRun == tests,
                    "peak_kib": peak,
                    "rss_before_kib": rss_before,
                    "before": before,
                    "after": after,
                },
                out,
            )
        return result
'''

CLASS_HEADER = {
    "sync": "class Sync{index}(TestCase):\n",
    "native": "class Native{index}(TestCase):\n",
    "ours": "class Ours{index}(AsyncTestCase):\n",
    "ours_sync": "class OursSync{index}(AsyncTestCase):\n",
}
IMPORTS = {
    "sync": "from django.test import TestCase\n",
    "native": "from django.test import TestCase\n",
    "ours": "from django_async_testcase import AsyncTestCase\n",
    "ours_sync": "from django_async_testcase import AsyncTestCase\n",
}
SYNC_SUITES = {"sync", "ours_sync"}
BODIES = {
    # One create and one count: the benchmark of record.
    "orm": {
        "sync": """\
    def test_{index}(self):
        Item.objects.create(name="x")
        self.assertEqual(Item.objects.count(), 1)
""",
        "async": """\
    async def test_{index}(self):
        await Item.objects.acreate(name="x")
        self.assertEqual(await Item.objects.acount(), 1)
""",
    },
    # Nothing: what running an async test costs, without the async ORM's own cost.
    "empty": {
        "sync": """\
    def test_{index}(self):
        pass
""",
        "async": """\
    async def test_{index}(self):
        pass
""",
    },
}
BODY_TITLES = {"orm": "one create and one count", "empty": "empty tests"}


def suite_source(
    suite: str, tests: int, body_name: str = "orm", per_class: int = TESTS_PER_CLASS
) -> str:
    """A test module of ``tests`` tests, in classes of ``per_class``."""
    body = BODIES[body_name]["sync" if suite in SYNC_SUITES else "async"]
    parts = [IMPORTS[suite], "\nfrom .models import Item\n"]
    for start in range(0, tests, per_class):
        parts.append("\n\n" + CLASS_HEADER[suite].format(index=start // per_class))
        for index in range(start, min(start + per_class, tests)):
            parts.append(body.format(index=f"{index:05d}"))
    return "".join(parts)


def make_project(
    directory: Path, sizes: list[int], body: str = "orm", per_class: int = TESTS_PER_CLASS
) -> None:
    (directory / "benchsettings.py").write_text(SETTINGS)
    (directory / "manage.py").write_text(MANAGE)
    (directory / "benchrunner.py").write_text(RUNNER)
    app = directory / "benchapp"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS)
    for suite in SUITES:
        for size in sizes:
            (app / f"tests_{suite}_{size}.py").write_text(
                suite_source(suite, size, body, per_class)
            )


# --- running -------------------------------------------------------------------


def run_one(
    project: Path,
    db: str,
    suite: str,
    size: int,
    package_root: Path = ROOT,
    trace: Path | None = None,
) -> dict:
    result_path = project / "result.json"
    result_path.unlink(missing_ok=True)
    env = dict(os.environ)
    env.pop("BENCH_TRACE", None)
    if trace is not None:
        trace.unlink(missing_ok=True)
        env["BENCH_TRACE"] = str(trace)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package_root), env.get("PYTHONPATH")]))
    env["BENCH_DB"] = db
    env["BENCH_RESULT"] = str(result_path)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    load = os.getloadavg()[0]
    completed = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "test",
            f"benchapp.tests_{suite.partition('@')[0]}_{size}",
            "-v",
            "0",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0 or not result_path.exists():
        raise SystemExit(
            f"The {suite} suite ({size} tests, {db}) failed:\n{completed.stdout}{completed.stderr}"
        )
    result = json.loads(result_path.read_text())
    if not result["ok"]:
        raise SystemExit(
            f"The {suite} suite ({size} tests, {db}) had failures:\n{completed.stderr}"
        )
    result["load"] = load
    return result


def leftovers(result: dict) -> dict:
    """What the run added and did not release (Django may close its connection: not counted)."""
    return {
        key: result["after"][key] - result["before"][key]
        for key in result["before"]
        if result["after"][key] > result["before"][key]
    }


def benchmark(
    db: str,
    n: int,
    rounds: int,
    memory: bool,
    body: str = "orm",
    designs: dict[str, Path] | None = None,
    per_class: int = TESTS_PER_CLASS,
    suites: tuple[str, ...] = SUITES,
) -> dict:
    sizes = [n, 10 * n] if memory else [n]
    roots = {suite: ROOT for suite in suites}
    roots |= {f"ours@{name}": path for name, path in (designs or {}).items()}
    names = tuple(roots)
    runs: dict[str, dict[int, list[dict]]] = {s: {size: [] for size in sizes} for s in names}
    statements: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="dat-bench-") as tmp:
        project = Path(tmp)
        make_project(project, sizes, body, per_class)
        for round_ in range(rounds):
            # Rotate the order, so no suite always runs first.
            shift = round_ % len(names)
            order = names[shift:] + names[:shift]
            for size in sizes:
                for suite in order:
                    result = run_one(project, db, suite, size, roots[suite])
                    runs[suite][size].append(result)
                    left = leftovers(result)
                    print(
                        f"  {db} round {round_ + 1}/{rounds} {suite:>6} {size:>5} tests: "
                        f"{result['seconds'] / size * 1000:.3f} ms/test, "
                        f"peak {result['peak_kib'] / 1024:.1f} MiB, "
                        f"load {result['load']:.2f}" + (f", LEFT BEHIND {left}" if left else ""),
                        flush=True,
                    )
        if db == "postgresql":
            trace = project / "trace.log"
            for suite in names:
                run_one(project, db, suite, n, roots[suite], trace=trace)
                statements[suite] = statement_log(trace.read_text(), min(per_class, n), n)
    summary = summarize(db, n, rounds, runs, memory)
    return summary | {"body": body, "per_class": per_class, "statements": statements}


_MESSAGE = re.compile(r"^F\t\d+\t(Query|Parse|Sync)\t?(.*)$")


def statement_log(trace: str, per_class: int, n: int) -> dict:
    """A test's statements (its own, its end, the next one's start) and round trips per test.

    From libpq's trace of a run, between the runner's markers. A round trip is
    a simple ``Query`` or an extended-protocol ``Sync`` (no pipeline mode).
    """
    segments: list[list[str]] = []
    round_trips = 0
    running = False
    for line in trace.splitlines():
        if line.startswith("### "):
            marker = line[4:]
            running = marker == "run" or (running and marker != "end")
            if marker.startswith("test "):
                segments.append([])
            continue
        match = _MESSAGE.match(line)
        if not running or match is None:
            continue
        kind, rest = match.groups()
        if kind == "Sync":
            round_trips += 1
            continue
        if kind == "Query":
            round_trips += 1
            text = rest.strip()
            text = text[1:-1] if len(text) > 1 and text[0] == text[-1] == '"' else text
        else:  # Parse: "" "SELECT ..." -> the statement.
            parts = rest.split('"')
            text = parts[3] if len(parts) > 3 else rest
        if segments:
            segments[-1].append(re.sub(r'"s\d+_x\d+"', '"s…"', text))
    # The second test of the first class: its start came after the class's own.
    middle = 1 if per_class > 2 else 0
    shown = segments[middle] if len(segments) > middle + 1 else []
    return {"test": shown, "round_trips_per_test": round_trips / n}


def summarize(db: str, n: int, rounds: int, runs: dict, memory: bool) -> dict:
    summary: dict = {"db": db, "n": n, "rounds": rounds, "suites": {}}
    for suite in runs:
        results = [r for size in runs[suite] for r in runs[suite][size]]
        per_test = [r["seconds"] / n * 1000 for r in runs[suite][n]]
        entry = {
            "ms_per_test": statistics.median(per_test),
            "ms_per_test_all": per_test,
            "cpu_ms_per_test": statistics.median(
                r["cpu_seconds"] / n * 1000 for r in runs[suite][n]
            ),
            "left_behind": [leftovers(r) for r in results],
            "load": [r["load"] for r in results],
        }
        if memory:
            small = statistics.median(r["peak_kib"] for r in runs[suite][n])
            large = statistics.median(r["peak_kib"] for r in runs[suite][10 * n])
            entry["peak_mib"] = {"n": small / 1024, "10n": large / 1024}
            entry["growth_mib"] = (large - small) / 1024
        summary["suites"][suite] = entry
    suites = summary["suites"]
    # Suites of one round ran side by side: the median of the per-round ratios
    # is less sensitive to the machine's load drifting between rounds.
    for other in ("native", "sync"):
        summary[f"paired ours/{other}"] = statistics.median(
            ours / theirs
            for ours, theirs in zip(
                suites["ours"]["ms_per_test_all"], suites[other]["ms_per_test_all"], strict=True
            )
        )
    summary["paired ours_sync/sync"] = statistics.median(
        ours / theirs
        for ours, theirs in zip(
            suites["ours_sync"]["ms_per_test_all"], suites["sync"]["ms_per_test_all"], strict=True
        )
    )
    for key in ("ms_per_test", "cpu_ms_per_test"):
        prefix = "" if key == "ms_per_test" else "cpu "
        summary[prefix + "ours/native"] = suites["ours"][key] / suites["native"][key]
        summary[prefix + "ours/sync"] = suites["ours"][key] / suites["sync"][key]
        summary[prefix + "ours_sync/sync"] = suites["ours_sync"][key] / suites["sync"][key]
    for suite in suites:
        if suite.startswith("ours@"):
            summary[f"{suite}/native"] = (
                suites[suite]["ms_per_test"] / suites["native"]["ms_per_test"]
            )
            summary[f"{suite}/sync"] = suites[suite]["ms_per_test"] / suites["sync"]["ms_per_test"]
    return summary


def targets(summary: dict) -> list[tuple[str, bool]]:
    """The targets of the issue this benchmark was written for, met or not."""
    suites = summary["suites"]
    native, sync = summary["ours/native"], summary["ours_sync/sync"]
    if summary["db"] != "postgresql":
        # No server round trips: unchanged or better than before (--design before=PATH).
        before = summary.get("ours@before/native")
        checks = (
            [(f"ours/native {native:.2f} <= before {before:.2f} + 5%", native <= before * 1.05)]
            if before is not None
            else []
        )
    elif summary.get("body", "orm") == "empty":
        checks = [(f"empty sync tests: ours_sync/sync {sync:.2f} <= 0.6", sync <= 0.6)]
    else:
        one_class = summary.get("per_class", TESTS_PER_CLASS) >= summary["n"]
        bound = 0.7 if one_class else 0.9
        checks = [
            (f"ours/native {native:.2f} <= {bound}", native <= bound),
            (f"ours_sync/sync {sync:.2f} <= 0.8", sync <= 0.8),
        ]
    if "growth_mib" in suites["ours"]:
        ours, sync = suites["ours"]["growth_mib"], suites["sync"]["growth_mib"]
        checks.append(
            (
                f"peak memory growth N -> 10 N: ours {ours:+.1f} MiB <= sync {sync:+.1f} MiB + 10%",
                ours <= sync + 0.1 * abs(sync),
            )
        )
    left = [item for item in suites["ours"]["left_behind"] if item]
    checks.append((f"nothing left behind by ours ({left[0] if left else 'nothing'})", not left))
    return checks


# --- reporting -----------------------------------------------------------------


def print_summary(summary: dict) -> None:
    print(f"\n{summary['db']}: N={summary['n']}, median of {summary['rounds']} rounds")
    for suite, entry in summary["suites"].items():
        line = (
            f"  {label(suite):<30} {entry['ms_per_test']:7.3f} ms/test "
            f"(CPU {entry['cpu_ms_per_test']:.3f})"
        )
        if "growth_mib" in entry:
            peak = entry["peak_mib"]
            line += (
                f"   peak {peak['n']:6.1f} -> {peak['10n']:6.1f} MiB"
                f" (+{entry['growth_mib']:.1f} MiB)"
            )
        left = [item for item in entry["left_behind"] if item]
        line += f"   left behind: {left[0] if left else 'nothing'}"
        print(line)
    print(
        f"  ours/native = {summary['ours/native']:.2f}   ours/sync = {summary['ours/sync']:.2f}"
        f"   ours_sync/sync = {summary['ours_sync/sync']:.2f}"
        f"   (CPU time: {summary['cpu ours/native']:.2f}, {summary['cpu ours/sync']:.2f} and"
        f" {summary['cpu ours_sync/sync']:.2f}; median of per-round ratios:"
        f" {summary['paired ours/native']:.2f}, {summary['paired ours/sync']:.2f} and"
        f" {summary['paired ours_sync/sync']:.2f})"
    )
    for suite, log in summary.get("statements", {}).items():
        print(
            f"  {label(suite)}: {log['round_trips_per_test']:.2f} round trips per test; "
            f"a test: {' | '.join(log['test'])}"
        )
    for suite in summary["suites"]:
        if suite.startswith("ours@"):
            print(
                f"  {suite}/native = {summary[f'{suite}/native']:.2f}   "
                f"{suite}/sync = {summary[f'{suite}/sync']:.2f}"
            )
    for text, met in targets(summary):
        print(f"  [{'met' if met else 'NOT met'}] {text}")


def environment() -> dict:
    import asgiref
    import django

    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "asgiref": asgiref.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
    }


def rst_table(summaries: list[dict], env: dict) -> str:
    memory = all("peak_mib" in e for s in summaries for e in s["suites"].values())
    header = ["Database", "Suite", "ms per test", "x sync", "CPU ms per test"]
    header += ["Peak memory (MiB)"] if memory else []
    rows = []
    for summary in summaries:
        sync = summary["suites"]["sync"]["ms_per_test"]
        for suite, entry in summary["suites"].items():
            row = [
                summary["db"],
                label(suite),
                f"{entry['ms_per_test']:.3f}",
                f"{entry['ms_per_test'] / sync:.2f}",
                f"{entry['cpu_ms_per_test']:.3f}",
            ]
            if memory:
                peak = entry["peak_mib"]
                row.append(f"{peak['n']:.0f} -> {peak['10n']:.0f} (+{entry['growth_mib']:.1f})")
            rows.append(row)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * width for width in widths)

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    loads = [load for s in summaries for e in s["suites"].values() for load in e["load"]]
    table = [rule, line(header), rule, *(line(row) for row in rows), rule]
    ratios = "; ".join(
        f"{s['db']}: ours/native {s['ours/native']:.2f}, ours/sync {s['ours/sync']:.2f}, "
        f"ours_sync/sync {s['ours_sync/sync']:.2f} (CPU time {s['cpu ours/native']:.2f}, "
        f"{s['cpu ours/sync']:.2f} and {s['cpu ours_sync/sync']:.2f}; median of the per-round "
        f"ratios {s['paired ours/native']:.2f}, {s['paired ours/sync']:.2f} and "
        f"{s['paired ours_sync/sync']:.2f})"
        + "".join(
            f", {label(suite)}: /native {s[f'{suite}/native']:.2f}, /sync {s[f'{suite}/sync']:.2f}"
            for suite in s["suites"]
            if suite.startswith("ours@")
        )
        for s in summaries
    )
    notes = (
        f"N = {summaries[0]['n']} tests "
        f"({BODY_TITLES[summaries[0].get('body', 'orm')]}) in classes "
        f"of {summaries[0].get('per_class', TESTS_PER_CLASS)}, median of "
        f"{summaries[0]['rounds']} interleaved rounds"
        + ("; peak memory at N and at 10 x N tests" if memory else "")
        + f". {ratios}. Python {env['python']}, "
        f"Django {env['django']}, asgiref {env['asgiref']}, {env['cpus']} CPUs "
        f"({env['machine']}), 1-minute load average {min(loads):.1f} to {max(loads):.1f} "
        f"during the runs, {env['date']}."
    )
    return "\n".join(table) + "\n\n" + "\n".join(textwrap.wrap(notes, 79)) + "\n"


# Average advance widths of DejaVu Sans / Arial-like faces, in em: generous, so
# a label is never cut whichever sans-serif font the browser picks.
_NARROW, _WIDE, _UPPER = set("ijlrtfI.,:;'()[] "), set("mwMW@%"), 0.72


def text_width(text: str, size: float) -> float:
    """An upper estimate of the width of ``text`` in pixels at font size ``size``."""
    em = 0.0
    for char in text:
        if char in _NARROW:
            em += 0.36
        elif char in _WIDE:
            em += 0.95
        elif char.isupper() or char.isdigit():
            em += _UPPER
        else:
            em += 0.62
    return em * size


def statements_rst(summaries: list[dict]) -> str:
    """The statement log of a test per suite (PostgreSQL), as reStructuredText."""
    lines = []
    for summary in summaries:
        for suite, log in summary.get("statements", {}).items():
            lines += [
                f"**{label(suite)}** ({summary['db']}): "
                f"{log['round_trips_per_test']:.2f} server round trips per test over the run "
                f"(class set-up and tear-down included); a test in the middle of a class, "
                f"from its start to the next test's start:",
                "",
                "::",
                "",
                *(f"    {statement}" for statement in log["test"]),
                "",
            ]
    return "\n".join(lines) if lines else "(No statement log: PostgreSQL only.)\n"


def classes(summary: dict) -> str:
    """How the summary's tests were grouped: "one class" or "classes of 10"."""
    per_class = summary.get("per_class", TESTS_PER_CLASS)
    return "one class" if per_class >= summary["n"] else f"classes of {per_class}"


def svg_chart(summaries: list[dict]) -> str:
    """Horizontal bars of the time per test (and, thinner, its CPU time), per database."""
    colors = {"sync": "#9e9e9e", "native": "#d9822b", "ours": "#2b7bb9", "ours_sync": "#6aa84f"}
    bar, cpu_bar, gap, group_gap, width = 20, 8, 10, 34, 380
    # The labels end at the bars: the left margin fits the longest one.
    longest = max(text_width(label(suite), 13) for s in summaries for suite in s["suites"])
    left = int(10 + longest + 12)
    top = 58
    most = max(e["ms_per_test"] for s in summaries for e in s["suites"].values())
    most = max(most, *(e["cpu_ms_per_test"] for s in summaries for e in s["suites"].values()))
    scale = width / most
    row = bar + cpu_bar + gap
    count = max(len(s["suites"]) for s in summaries)
    height = top + len(summaries) * (count * row + group_gap) + 10
    title = (
        f"Time per test (ms; {BODY_TITLES[summaries[0].get('body', 'orm')]}; "
        f"N = {summaries[0]['n']}; {classes(summaries[0])})"
    )
    # Bold text is about a tenth wider than text_width's estimate.
    total = max(left + width + 90, int(20 + 1.1 * text_width(title, 15)))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" '
        f'height="{height}" font-family="sans-serif" font-size="13">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{title}</text>',
        '<text x="10" y="42" font-size="12" fill="#555">Thick bars: elapsed time. '
        "Thin bars: CPU time of the process (all threads).</text>",
    ]
    y = top
    for summary in summaries:
        out.append(f'<text x="10" y="{y + 14}" font-weight="bold">{summary["db"]}</text>')
        y += 22
        for suite, entry in summary["suites"].items():
            ms, cpu = entry["ms_per_test"], entry["cpu_ms_per_test"]
            color = colors.get(suite, "#7fb3d5")
            out += [
                f'<text x="{left - 8}" y="{y + bar * 0.75:.0f}" text-anchor="end">'
                f"{label(suite)}</text>",
                f'<rect x="{left}" y="{y}" width="{ms * scale:.1f}" height="{bar}" '
                f'fill="{color}"/>',
                f'<text x="{left + ms * scale + 6:.1f}" y="{y + bar * 0.75:.0f}">{ms:.3f}</text>',
                f'<rect x="{left}" y="{y + bar}" width="{cpu * scale:.1f}" height="{cpu_bar}" '
                f'fill="{color}" fill-opacity="0.45"/>',
                f'<text x="{left + cpu * scale + 6:.1f}" y="{y + bar + cpu_bar}" '
                f'font-size="10" fill="#555">CPU {cpu:.3f}</text>',
            ]
            y += row
        y += group_gap - 22
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=400, help="tests per suite (default 400)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument(
        "--db",
        action="append",
        choices=["sqlite", "postgresql"],
        help="database to run on; repeat for several (default sqlite)",
    )
    parser.add_argument(
        "--body",
        choices=sorted(BODIES),
        default="orm",
        help="what each test does: orm (one create and one count; default) or empty",
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the 10 x N runs that measure memory"
    )
    parser.add_argument(
        "--design",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="also run the ours suite with the package of the checkout at PATH",
    )
    parser.add_argument(
        "--per-class",
        type=int,
        default=TESTS_PER_CLASS,
        help=f"tests per class (default {TESTS_PER_CLASS}; --per-class N: all in one class)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--docs", type=Path, help="write the chart and the table into DIR/_static/")
    parser.add_argument(
        "--report",
        type=Path,
        help="run nothing: print and write (--docs) the results saved by --json in this file",
    )
    args = parser.parse_args(argv)
    if args.report:
        saved = json.loads(args.report.read_text())
        env, summaries = saved["environment"], saved["results"]
        args.body = summaries[0].get("body", "orm")
        for summary in summaries:
            print_summary(summary)
        write_docs(args.docs, args.body, summaries, env)
        return
    env = environment()
    print(
        f"Python {env['python']}, Django {env['django']}, asgiref {env['asgiref']}, "
        f"{env['cpus']} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    summaries = []
    for db in args.db or ["sqlite"]:
        designs = {
            name: Path(path).resolve()
            for name, _, path in (item.partition("=") for item in args.design)
        }
        summary = benchmark(
            db, args.n, args.rounds, not args.no_memory, args.body, designs, args.per_class
        )
        summaries.append(summary)
        print_summary(summary)
    if args.json:
        args.json.write_text(json.dumps({"environment": env, "results": summaries}, indent=1))
    write_docs(args.docs, args.body, summaries, env)


def write_docs(docs: Path | None, body: str, summaries: list[dict], env: dict) -> None:
    if docs is None:
        return
    static = docs / "_static"
    static.mkdir(parents=True, exist_ok=True)
    stem = "benchmark" if body == "orm" else f"benchmark-{body}"
    if summaries[0].get("per_class", TESTS_PER_CLASS) >= summaries[0]["n"]:
        stem += "-one-class"
    chart, table = static / f"{stem}.svg", static / f"{stem}-results.txt"
    chart.write_text(svg_chart(summaries))
    table.write_text(rst_table(summaries, env))
    print(f"Wrote {chart} and {table}")
    if any(summary.get("statements") for summary in summaries):
        statements = static / f"{stem}-statements.txt"
        statements.write_text(statements_rst(summaries))
        print(f"Wrote {statements}")


if __name__ == "__main__":
    main()
