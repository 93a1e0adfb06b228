"""The code examples of the documentation run, and do what the text says.

Every ``.. code-block:: python`` in docs/*.rst carries a class:

- ``testable``: test classes that must pass. All testable blocks are written
  into one case module (``myapp`` becomes ``tests.testapp``, whose ``Item``
  model and ``/items/`` views the examples use) and run under both runners, on
  the backend this run uses.
- ``testable-misuse``: test classes that must fail, followed by a
  ``.. code-block:: text`` holding the error message the runner must print.
- ``testable-pytest``: pytest test functions that must pass. They are written
  into one test file and run by pytest with pytest-django, pytest-asyncio in
  its default (strict) mode and the plugin.
- ``testable-async-backend`` and ``testable-async-backend-pytest``: the same
  (classes under both runners, functions under pytest), with
  django-async-backend's settings (tests/settings_async_backend.py); skipped
  where the suite cannot run them (tests/async_backend.py).

None is exempt: a Python block that could not run here is not an example (a
before/after change is shown as a ``diff`` block).
"""

import ast
import os
import re
import shutil
import unittest
from dataclasses import dataclass, field
from pathlib import Path

from django.test import SimpleTestCase

from tests import async_backend
from tests.harness import ROOT, RUNNERS, Cases, run_all

DOCS = ROOT / "docs"
KINDS = (
    "testable",
    "testable-misuse",
    "testable-pytest",
    "testable-async-backend",
    "testable-async-backend-pytest",
)
ASYNC_BACKEND_KINDS = ("testable-async-backend", "testable-async-backend-pytest")


@dataclass
class Block:
    page: str
    line: int
    language: str
    kind: str
    code: str


@dataclass
class Page:
    name: str
    blocks: list = field(default_factory=list)

    def of_kind(self, kind):
        return [b for b in self.blocks if b.kind == kind]

    def misuse_messages(self):
        """The text block that follows each testable-misuse block."""
        messages = []
        for block, after in zip(self.blocks, self.blocks[1:], strict=False):
            if block.kind == "testable-misuse":
                if after.language != "text":
                    raise AssertionError(f"{block.page}:{block.line}: no text block follows")
                messages.extend(m for m in after.code.split("\n\n") if m.strip())
        return messages


_DIRECTIVE = re.compile(r"^(\s*)\.\. code-block:: *(\S+)\s*$")


def parse_blocks(path: Path) -> list:
    """Every code-block of an .rst file, with its options and dedented body."""
    lines = path.read_text().splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if not match:
            i += 1
            continue
        start, indent, language = i + 1, len(match.group(1)), match.group(2)
        i += 1
        options = {}
        while i < len(lines) and lines[i].strip().startswith(":"):
            key, _, value = lines[i].strip()[1:].partition(":")
            options[key] = value.strip()
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
            body.append(lines[i])
            i += 1
        code = _dedent(body)
        blocks.append(Block(path.stem, start, language, options.get("class", ""), code))
    return blocks


def _indent(line):
    return len(line) - len(line.lstrip())


def _dedent(lines):
    text = list(lines)
    while text and not text[-1].strip():
        text.pop()
    while text and not text[0].strip():
        text.pop(0)
    width = min((_indent(line) for line in text if line.strip()), default=0)
    return "\n".join(line[width:] for line in text) + "\n"


def pages():
    return [Page(path.stem, parse_blocks(path)) for path in sorted(DOCS.glob("*.rst"))]


def as_module(blocks) -> str:
    """One module from the blocks, the documented app replaced by the test app."""
    source = "\n\n".join(f"# {b.page}.rst line {b.line}\n{b.code}" for b in blocks)
    return re.sub(r"\bmyapp\b", "tests.testapp", source)


def expected_tests(source: str) -> list:
    """``Class.test_name`` of each test method the module's classes define.

    Fails if two blocks define the same top-level name: one would hide the other.
    """
    tree = ast.parse(source)
    names = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names.extend(t.id for t in node.targets if isinstance(t, ast.Name))
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise AssertionError(f"names defined by two examples: {sorted(duplicates)}")
    return [
        f"{c.name}.{f.name}"
        for c in tree.body
        if isinstance(c, ast.ClassDef)
        for f in c.body
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) and f.name.startswith("test")
    ]


def expected_functions(source: str) -> list:
    """The names of the module's top-level test functions."""
    return [
        node.name
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    ]


def _normalize(text: str) -> str:
    return " ".join(text.split())


def _pattern(message: str) -> str:
    """A regex for a documented message, whitespace normalized, "..." matching anything."""
    return ".*?".join(re.escape(part) for part in _normalize(message).split("..."))


class DocsExamplesTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pages = pages()
        package = ROOT / "tests" / "cases" / f"_docs_{os.getpid()}"
        package.mkdir()
        cls.addClassCleanup(shutil.rmtree, package)
        (package / "__init__.py").write_text("")
        cls.sources, cls.runs, wanted = {}, {}, {}
        for kind in KINDS:
            blocks = [block for page in cls.pages for block in page.of_kind(kind)]
            name = f"case_{kind.replace('-', '_')}"
            cls.sources[kind] = as_module(blocks)
            (package / f"{name}.py").write_text(cls.sources[kind])
            module = f"tests.cases.{package.name}.{name}"
            if kind in ASYNC_BACKEND_KINDS:
                if not async_backend.USABLE:
                    continue
                runners = ("pytest",) if kind.endswith("pytest") else RUNNERS
                wanted[kind] = []
                for runner in runners:
                    args, env = async_backend.case_options(runner)
                    if kind.endswith("pytest"):
                        args = (*args, "--asyncio-mode=strict")
                    wanted[kind].append(Cases.of(module, runner, *args, env=env))
            elif kind == "testable-pytest":  # pytest-asyncio's default mode, said explicitly.
                wanted[kind] = [Cases.of(module, "pytest", "--asyncio-mode=strict")]
            else:
                wanted[kind] = [Cases.of(module, runner) for runner in RUNNERS]
        done = iter(run_all([cases for runs in wanted.values() for cases in runs]))
        for kind, runs in wanted.items():
            cls.runs[kind] = {run.runner: run for run in (next(done) for _ in runs)}

    def test_every_python_block_says_whether_it_is_tested(self):
        self.assertTrue(self.pages)
        for page in self.pages:
            for block in page.blocks:
                if block.language == "python":
                    self.assertIn(block.kind, KINDS, f"{block.page}.rst line {block.line}")

    def test_testable_examples_pass(self):
        expected = expected_tests(self.sources["testable"])
        self.assertGreater(len(expected), 10)
        for runner in RUNNERS:
            run = self.runs["testable"][runner]
            with self.subTest(runner=runner):
                for test in expected:
                    self.assertEqual(run.outcome(test), "passed", f"{test}\n{run.output}")
                self.assertEqual(run.returncode, 0, run.output)

    def test_misuse_examples_fail_with_the_documented_message(self):
        expected = expected_tests(self.sources["testable-misuse"])
        messages = [message for page in self.pages for message in page.misuse_messages()]
        self.assertGreater(len(messages), 4)
        for runner in RUNNERS:
            run = self.runs["testable-misuse"][runner]
            with self.subTest(runner=runner):
                self.assertNotEqual(run.returncode, 0, run.output)
                class_errors = [r["test"] for r in run.records if "setUpClass (" in r["test"]]
                for test in expected:
                    cls = test.split(".")[0]
                    if any(error.endswith(f".{cls})") for error in class_errors):
                        continue  # Django's runner: the class failed, its tests did not run.
                    self.assertIn(run.outcome(test), ("error", "failed"), run.output)
                output = _normalize(run.output)
                for message in messages:
                    found = re.search(_pattern(message), output)
                    self.assertTrue(found, f"not printed: {message!r}\n{run.output}")

    def test_pytest_examples_pass_in_strict_mode(self):
        expected = expected_functions(self.sources["testable-pytest"])
        self.assertGreaterEqual(len(expected), 4)
        run = self.runs["testable-pytest"]["pytest"]
        passed = [r["test"].rsplit(".", 1)[-1] for r in run.records if r["outcome"] == "passed"]
        self.assertEqual(sorted(passed), sorted(expected), run.output)
        self.assertEqual(run.returncode, 0, run.output)

    @unittest.skipUnless(async_backend.USABLE, async_backend.REASON)
    def test_async_backend_examples_pass(self):
        classes = expected_tests(self.sources["testable-async-backend"])
        self.assertGreaterEqual(len(classes), 4)
        for runner in RUNNERS:
            run = self.runs["testable-async-backend"][runner]
            with self.subTest(runner=runner):
                for test in classes:
                    self.assertEqual(run.outcome(test), "passed", f"{test}\n{run.output}")
                self.assertEqual(run.returncode, 0, run.output)
        functions = expected_functions(self.sources["testable-async-backend-pytest"])
        self.assertGreaterEqual(len(functions), 2)
        run = self.runs["testable-async-backend-pytest"]["pytest"]
        passed = [r["test"].rsplit(".", 1)[-1] for r in run.records if r["outcome"] == "passed"]
        self.assertEqual(sorted(passed), sorted(functions), run.output)
        self.assertEqual(run.returncode, 0, run.output)
