#!/usr/bin/env python
"""How long a function-style pytest test takes: the plugin against sync tests and transaction=True.

    python benchmarks/bench_pytest_functions.py [--n 400] [--rounds 3]
                                                [--db sqlite] [--db postgresql]
                                                [--docs docs] [--plugin-cost | --floor]

Generates a small Django project in a temporary directory with three files of
N pytest functions, each creating one row and counting the rows:

- ``sync``: ``@pytest.mark.django_db`` sync functions (the floor);
- ``plugin``: ``@pytest.mark.django_db`` async functions (pytest-asyncio,
  strict mode) with django-async-testcase's plugin, rolled back;
- ``transaction``: ``@pytest.mark.django_db(transaction=True)`` async functions
  without the plugin: what projects write today to keep async rows from leaking
  (each test flushes the tables).

``--plugin-cost`` measures, instead, the plugin's own cost apart from
pytest-asyncio's: one file of N async functions without the database (each
awaits ``asyncio.sleep(0)``), run with the plugin (``nodb_plugin``) and without
it (``nodb``).

``--floor`` measures what an async test costs at least, whatever the plugin
does: the sync ``db`` functions with the plugin on (``sync_plugin``: the same
round trips as the async ones), plus what pytest-asyncio adds to a test by
itself (``nodb`` less ``nodb_sync``, N sync functions without the database).
It prints that floor beside ``plugin`` and ``sync``.

Each file runs in its own pytest process, the three taking turns in every
round. Only the tests are timed: the sum of pytest's set-up, call and
tear-down durations of every test but the first (whose set-up creates the test
database). The result is the median over the rounds of that sum / (N - 1).
The files take turns in a rotating order. ``--docs DIR`` writes the table the
docs include, DIR/_static/pytest-functions-results.txt.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("sync", "plugin", "transaction")
COST_SUITES = ("nodb", "nodb_plugin")
FLOOR_SUITES = ("sync", "sync_plugin", "nodb_sync", "nodb", "plugin")

SETTINGS = """\
import os
DB = os.environ["BENCH_DB"]
if DB == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "bench.sqlite3"}}
else:
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": "bench", "HOST": "127.0.0.1",
        "USER": "postgres", "TEST": {"NAME": "test_bench_pytest_" + str(os.getpid())},
    }}
INSTALLED_APPS = ["benchapp"]
SECRET_KEY = "bench"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""
MODELS = """\
from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
"""
TIMER = """\
import json, os

durations = {}


def pytest_runtest_logreport(report):
    durations.setdefault(report.nodeid, 0.0)
    durations[report.nodeid] += report.duration


def pytest_sessionfinish(session):
    values = list(durations.values())[1:]
    with open(os.environ["BENCH_OUT"], "w") as f:
        json.dump({"tests": len(values), "total": sum(values)}, f)
"""
BODIES = {
    "sync": """\
@pytest.mark.django_db
def test_{i}():
    Item.objects.create(name="x")
    assert Item.objects.count() == 1
""",
    "plugin": """\
@pytest.mark.asyncio
@pytest.mark.django_db
async def test_{i}():
    await Item.objects.acreate(name="x")
    assert await Item.objects.acount() == 1
""",
    "transaction": """\
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_{i}():
    await Item.objects.acreate(name="x")
    assert await Item.objects.acount() == 1
""",
    "nodb": """\
@pytest.mark.asyncio
async def test_{i}():
    await asyncio.sleep(0)
""",
    "nodb_sync": """\
def test_{i}():
    pass
""",
}
# The file each suite runs (nodb_plugin runs nodb's with the plugin on).
FILES = {"nodb_plugin": "nodb", "sync_plugin": "sync"}
PLUGIN_ON = {"plugin", "nodb_plugin", "sync_plugin"}


def make_project(root: Path, n: int) -> None:
    (root / "benchapp" / "migrations").mkdir(parents=True)
    (root / "benchapp" / "__init__.py").write_text("")
    (root / "benchapp" / "migrations" / "__init__.py").write_text("")
    (root / "benchapp" / "models.py").write_text(MODELS)
    (root / "bench_settings.py").write_text(SETTINGS)
    (root / "bench_timer.py").write_text(TIMER)
    (root / "pytest.ini").write_text(
        "[pytest]\nDJANGO_SETTINGS_MODULE = bench_settings\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    for suite, body in BODIES.items():
        text = "import asyncio\n\nimport pytest\nfrom benchapp.models import Item\n\n\n"
        text += "\n\n".join(body.format(i=i) for i in range(n))
        (root / f"test_{suite}.py").write_text(text)


def run(root: Path, suite: str, db: str) -> float:
    out = root / f"{suite}.json"
    plugin = ["-p", "no:django_async_testcase"]
    if suite in PLUGIN_ON:
        plugin = [] if _entry_point() else ["-p", "django_async_testcase.pytest_plugin"]
    env = {
        **os.environ,
        "BENCH_DB": db,
        "BENCH_OUT": str(out),
        "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]),
    }
    args = [sys.executable, "-m", "pytest", "-q", "-p", "bench_timer", "-p", "no:cacheprovider"]
    args += ["-p", "no:randomly", "-p", "no:xdist", "-p", "no:anyio"]
    args += ["--create-db", "--nomigrations", *plugin]
    proc = subprocess.run(
        [*args, f"test_{FILES.get(suite, suite)}.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{suite} on {db} failed:\n{proc.stdout}{proc.stderr}")
    result = json.loads(out.read_text())
    return float(result["total"]) / int(result["tests"])


def _entry_point() -> bool:
    import importlib.metadata

    entry_points = importlib.metadata.entry_points(group="pytest11")
    return any(ep.name == "django_async_testcase" for ep in entry_points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument("--docs", type=Path, help="write the table into DIR/_static/")
    parser.add_argument(
        "--plugin-cost", action="store_true", help="async tests without the database, plugin on/off"
    )
    parser.add_argument(
        "--floor", action="store_true", help="the least an async test can cost, beside plugin"
    )
    options = parser.parse_args()
    suites = COST_SUITES if options.plugin_cost else FLOOR_SUITES if options.floor else SUITES
    results = {}
    loads = []
    with tempfile.TemporaryDirectory(prefix="bench-pytest-") as tmp:
        root = Path(tmp)
        make_project(root, options.n)
        for db in options.db or ["sqlite"]:
            times: dict[str, list[float]] = {suite: [] for suite in suites}
            for round_ in range(options.rounds):
                shift = round_ % len(suites)
                for suite in suites[shift:] + suites[:shift]:
                    loads.append(os.getloadavg()[0])
                    times[suite].append(run(root, suite, db))
            medians = {suite: statistics.median(values) for suite, values in times.items()}
            results[db] = medians
            print(f"{db}: {options.n} tests, median of {options.rounds} rounds, per test")
            base = suites[0]
            for suite in suites:
                ratio = medians[suite] / medians[base]
                print(
                    f"  {suite:12} {medians[suite] * 1e3:7.3f} ms  ({ratio:.2f} x {base})  "
                    + " ".join(f"{v * 1e3:.3f}" for v in times[suite])
                )
            if options.floor:
                floor = medians["sync_plugin"] + medians["nodb"] - medians["nodb_sync"]
                print(
                    f"  floor of an async test: sync_plugin + (nodb - nodb_sync) = "
                    f"{floor * 1e3:.3f} ms ({floor / medians['sync']:.2f} x sync); plugin "
                    f"{medians['plugin'] / floor:.2f} x the floor"
                )
            elif not options.plugin_cost:
                speedup = medians["transaction"] / medians["plugin"]
                print(f"  transaction=True / plugin: {speedup:.1f} x")
    print(f"1-minute load average {min(loads):.1f} to {max(loads):.1f} during the runs")
    if options.docs and options.floor:
        path = options.docs / "_static" / "pytest-functions-floor.txt"
        path.write_text(floor_text(results, options, loads))
        print(f"Wrote {path}")
    elif options.docs and not options.plugin_cost:
        path = options.docs / "_static" / "pytest-functions-results.txt"
        path.write_text(rst_table(results, options, loads))
        print(f"Wrote {path}")


def floor_text(
    results: dict[str, dict[str, float]], options: argparse.Namespace, loads: list[float]
) -> str:
    """The --floor figures as a reStructuredText list, with how they were measured."""
    import pytest_asyncio

    lines = []
    for db, m in results.items():
        asyncio_cost = m["nodb"] - m["nodb_sync"]
        floor = m["sync_plugin"] + asyncio_cost
        lines.append(
            f"- {db}: sync ``db`` functions {m['sync'] * 1e3:.2f} ms, with the plugin "
            f"{m['sync_plugin'] * 1e3:.2f} ms; pytest-asyncio's own cost per test "
            f"{asyncio_cost * 1e3:.2f} ms; so at least {floor * 1e3:.2f} ms for an async "
            f"test ({floor / m['sync']:.2f} x sync), which takes {m['plugin'] * 1e3:.2f} ms "
            f"with the plugin ({m['plugin'] / m['sync']:.2f} x sync)."
        )
    notes = (
        f"Per test, median of {options.rounds} interleaved rounds of {options.n} tests. "
        f"Python {platform.python_version()}, pytest-asyncio {pytest_asyncio.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.machine()}), 1-minute load average "
        f"{min(loads):.1f} to {max(loads):.1f} during the runs, "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}."
    )
    return "\n".join(lines) + "\n\n" + "\n".join(textwrap.wrap(notes, 79)) + "\n"


LABELS = {
    "sync": "sync ``db`` functions",
    "plugin": "async, plugin",
    "transaction": "async, ``transaction=True``",
}


def rst_table(
    results: dict[str, dict[str, float]], options: argparse.Namespace, loads: list[float]
) -> str:
    """The reStructuredText table of the results, with how they were measured."""
    import asgiref
    import django
    import pytest_asyncio

    lines = [".. list-table::", "   :header-rows: 1", "", "   * - Backend"]
    lines += [f"     - {LABELS[suite]}" for suite in SUITES]
    for db, medians in results.items():
        lines.append(f"   * - {db}")
        for suite in SUITES:
            ratio = medians[suite] / medians["sync"]
            lines.append(f"     - {medians[suite] * 1e3:.2f} ms ({ratio:.2f} x sync)")
    ratios = "; ".join(
        f"{db}: transaction=True takes {m['transaction'] / m['plugin']:.1f} x the plugin's time"
        for db, m in results.items()
    )
    notes = (
        f"Per test, median of {options.rounds} interleaved rounds of {options.n} tests "
        f"(one acreate and one acount; sync: create and count). {ratios}. "
        f"Python {platform.python_version()}, Django {django.get_version()}, asgiref "
        f"{asgiref.__version__}, pytest-asyncio {pytest_asyncio.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.machine()}), 1-minute load average "
        f"{min(loads):.1f} to {max(loads):.1f} during the runs, "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}."
    )
    return "\n".join(lines) + "\n\n" + "\n".join(textwrap.wrap(notes, 79)) + "\n"


if __name__ == "__main__":
    main()
