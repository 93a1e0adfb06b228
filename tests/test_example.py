"""The example project's tests pass under ``manage.py test`` and under pytest.

They run as a user would run them, from the repository root, in subprocesses
with the example's own settings (SQLite, whatever backend this run uses).
"""

import ast
import os
import subprocess
import sys
import tempfile

from django.test import SimpleTestCase

from tests.harness import ROOT

EXAMPLE = ROOT / "example"


def example_tests() -> int:
    """How many test methods example/notes/tests.py defines."""
    tree = ast.parse((EXAMPLE / "notes" / "tests.py").read_text())
    return sum(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for node in cls.body
    )


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    # This checkout's package, whichever copy the virtualenv has installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


class ExampleProjectTests(SimpleTestCase):
    def test_manage_py_test(self):
        result = run("example/manage.py", "test", "-v", "2")
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 0, output)
        self.assertIn(f"Ran {example_tests()} tests", output)

    def test_pytest(self):
        with tempfile.TemporaryDirectory(prefix="dat-example-") as tmp:
            result = run(
                "-m",
                "pytest",
                "example",
                "-q",
                "-p",
                "no:randomly",
                f"--basetemp={tmp}/pytest",
            )
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 0, output)
        self.assertRegex(output, rf"\b{example_tests()} passed\b")
