"""benchmarks/bench.py still runs: its three generated suites pass and leave nothing behind."""

import contextlib
import importlib.util
import io
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
