"""benchmarks/bench.py still runs: its three generated suites pass and leave nothing behind."""

import contextlib
import importlib.util
import io
import re
from pathlib import Path

from django.test import SimpleTestCase

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BenchmarkScriptTests(SimpleTestCase):
    def test_small_run(self):
        bench = _load_bench()
        # The script's progress lines would print among the runner's dots.
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            summary = bench.benchmark("sqlite", 3, 1, memory=False)
        self.assertEqual(set(summary["suites"]), set(bench.SUITES), printed.getvalue())
        for suite, entry in summary["suites"].items():
            self.assertGreater(entry["ms_per_test"], 0, suite)
            self.assertEqual(entry["left_behind"], [{}], (suite, printed.getvalue()))
        self.assertGreater(summary["ours/native"], 0)
        table = bench.rst_table([summary], bench.environment())
        self.assertIn("AsyncTestCase, async methods", table)
        self.assertTrue(bench.svg_chart([summary]).startswith("<svg"))

    def test_generated_suites(self):
        bench = _load_bench()
        ours = bench.suite_source("ours", 12)
        self.assertIn("class Ours1(AsyncTestCase):", ours)
        self.assertEqual(ours.count("async def test_"), 12)
        self.assertEqual(bench.suite_source("sync", 12, "empty").count("    def test_"), 12)

    def test_chart_fits_its_labels(self):
        bench = _load_bench()
        entry = {"ms_per_test": 1.0, "cpu_ms_per_test": 0.5}
        for design in ("x", "a much longer name of an earlier design of the engine"):
            suites = {suite: entry for suite in (*bench.SUITES, f"ours@{design}")}
            svg = bench.svg_chart([{"db": "postgresql", "n": 4, "suites": suites}])
            left = float(re.search(r'<rect x="([\d.]+)"', svg).group(1))
            longest = max(bench.text_width(bench.label(suite), 13) for suite in suites)
            # The labels end 8 px before the bars and start at least 10 px from the edge.
            self.assertGreaterEqual(left - 8 - longest, 10, design)
            width = float(re.search(r'<svg [^>]*width="([\d.]+)"', svg).group(1))
            self.assertGreaterEqual(width, left + 380)

    def test_statement_log(self):
        bench = _load_bench()
        trace = "\n".join(
            [
                'F\t10\tQuery\t "BEGIN"',
                "### run",
                "### test a",
                'F\t36\tQuery\t "SAVEPOINT "s1_x1""',
                "### test b",
                'F\t20\tQuery\t "SELECT 1"',
                'F\t21\tParse\t "" "SELECT $1" 1 NNNN',
                "F\t4\tSync",
                "### test c",
                "### end",
                'F\t13\tQuery\t "ROLLBACK"',
            ]
        )
        log = bench.statement_log(trace, per_class=10, n=3)
        self.assertEqual(log["test"], ["SELECT 1", "SELECT $1"])
        self.assertEqual(log["round_trips_per_test"], 1.0)
