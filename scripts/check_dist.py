#!/usr/bin/env python
"""Build the sdist and the wheel into a temporary directory and check what they hold.

    python scripts/check_dist.py        (needs: pip install -e ".[dist]")

Runs ``python -m build`` (the wheel is built from the sdist), ``twine check``,
and asserts that the sdist carries the docs, tests and example project, that
the wheel carries the package with ``py.typed`` and nothing else, and that
both have the version of ``django_async_testcase/__init__.py``. Exits non-zero
with the list of problems otherwise.
"""

from __future__ import annotations

import ast
import email.parser
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "django_async_testcase"

SDIST_REQUIRED = [
    "pyproject.toml",
    "README.rst",
    "CHANGELOG.rst",
    "CONTRIBUTING.rst",
    "LICENSE",
    "runtests.py",
    f"{PACKAGE}/__init__.py",
    f"{PACKAGE}/py.typed",
    "tests/harness.py",
    "tests/conftest.py",
    "tests/settings.py",
    "tests/test_docs.py",
    "tests/cases/case_lifecycle.py",
    "tests/testapp/migrations/0001_initial.py",
    "docs/conf.py",
    "docs/index.rst",
    "docs/Makefile",
    "example/manage.py",
    "example/pytest.ini",
    "example/exampleproject/settings.py",
    "example/notes/tests.py",
    "example/notes/migrations/0001_initial.py",
    "scripts/check_dist.py",
]
# Build output, caches and local databases must never ship.
FORBIDDEN_PARTS = ("_build", "__pycache__", ".venv", ".pytest_cache", "dist")
FORBIDDEN_SUFFIXES = (".pyc", ".sqlite3")
CLASSIFIERS_REQUIRED = [
    "Framework :: Django",
    "Typing :: Typed",
    "Programming Language :: Python :: 3 :: Only",
]


def package_version() -> str:
    tree = ast.parse((ROOT / PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise SystemExit(f"no __version__ in {PACKAGE}/__init__.py")


def build(outdir: Path) -> tuple[Path, Path]:
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(outdir), str(ROOT)], check=True)
    [sdist] = outdir.glob("*.tar.gz")
    [wheel] = outdir.glob("*.whl")
    return sdist, wheel


def sdist_problems(sdist: Path, version: str) -> list[str]:
    with tarfile.open(sdist) as tar:
        names = [name for name in tar.getnames() if not name.endswith("/")]
        prefix = names[0].split("/")[0] + "/"
        pkg_info = tar.extractfile(prefix + "PKG-INFO")
        metadata = pkg_info.read().decode() if pkg_info else ""
    problems = []
    if prefix != f"django_async_testcase-{version}/":
        problems.append(f"sdist: top directory {prefix}, expected version {version}")
    problems += [f"sdist: {name} outside {prefix}" for name in names if not name.startswith(prefix)]
    files = {name[len(prefix) :] for name in names if name.startswith(prefix)}
    problems += [f"sdist: {name} missing" for name in SDIST_REQUIRED if name not in files]
    problems += [f"sdist: {name} should not ship" for name in sorted(files) if _forbidden(name)]
    problems += _metadata_problems("sdist", metadata, version)
    return problems


def wheel_problems(wheel: Path, version: str) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata_path] = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_path).decode()
    dist_info = metadata_path.split("/")[0] + "/"
    modules = sorted(path.name for path in (ROOT / PACKAGE).glob("*.py"))
    problems = [
        f"wheel: {PACKAGE}/{name} missing"
        for name in [*modules, "py.typed"]
        if f"{PACKAGE}/{name}" not in names
    ]
    problems += [
        f"wheel: {name} should not ship"
        for name in names
        if not name.startswith((f"{PACKAGE}/", dist_info)) or _forbidden(name)
    ]
    problems += _metadata_problems("wheel", metadata, version)
    return problems


def _forbidden(name: str) -> bool:
    parts = name.split("/")
    return any(part in FORBIDDEN_PARTS for part in parts) or name.endswith(FORBIDDEN_SUFFIXES)


def _metadata_problems(what: str, text: str, version: str) -> list[str]:
    metadata = email.parser.Parser().parsestr(text)
    problems = []
    if metadata["Version"] != version:
        problems.append(f"{what}: version {metadata['Version']}, __init__.py says {version}")
    classifiers = metadata.get_all("Classifier") or []
    problems += [
        f"{what}: classifier {c!r} missing" for c in CLASSIFIERS_REQUIRED if c not in classifiers
    ]
    if metadata["License-Expression"] != "MIT":
        problems.append(f"{what}: License-Expression is {metadata['License-Expression']!r}")
    if metadata["Description-Content-Type"] != "text/x-rst":
        problems.append(f"{what}: long description is not reStructuredText")
    return problems


def main() -> int:
    version = package_version()
    with tempfile.TemporaryDirectory(prefix="dat-dist-") as tmp:
        sdist, wheel = build(Path(tmp))
        subprocess.run(
            [sys.executable, "-m", "twine", "check", "--strict", sdist, wheel], check=True
        )
        problems = sdist_problems(sdist, version) + wheel_problems(wheel, version)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"{sdist.name} and {wheel.name}: contents and metadata OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
