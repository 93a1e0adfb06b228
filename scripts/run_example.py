#!/usr/bin/env python
"""Set up and run the example project's tests, for a first look: one command.

    python scripts/run_example.py [manage.py test options...]

Makes a virtualenv in ``.venv-example`` (once) with only what the example
needs: Django and this checkout of django-async-testcase (``pip install -e .``,
which pulls Django and asgiref from the package index). Then runs
``python example/manage.py test`` with it, on SQLite. Run it again after
changing the code: the virtualenv is reused and the checkout is installed in
editable mode. Delete ``.venv-example`` to start over.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-example"


def venv_python() -> Path:
    scripts = "Scripts" if sys.platform == "win32" else "bin"
    name = "python.exe" if sys.platform == "win32" else "python"
    return VENV / scripts / name


def run(*args: object) -> None:
    print("$", " ".join(map(str, args)), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True)


def main(argv: list[str]) -> int:
    python = venv_python()
    if not python.exists():
        print(f"Making a virtualenv in {VENV.name}/ (Django and this checkout only)", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
        run(python, "-m", "pip", "install", "-q", "--upgrade", "pip")
        run(python, "-m", "pip", "install", "-q", "-e", ".")
    try:
        run(python, "example/manage.py", "test", *(argv or ["-v", "2"]))
    except subprocess.CalledProcessError as error:
        return error.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
