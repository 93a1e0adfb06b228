"""pytest plugin: write each unittest test's outcome to $CASES_RESULT (see harness.py)."""

import json
import os
from pathlib import Path

RECORDS = []


def pytest_runtest_logreport(report):
    parts = report.nodeid.split("::")
    test = ".".join(parts[-2:])
    subtest = type(report).__name__ == "SubtestReport" or bool(getattr(report, "context", None))
    details = str(report.longrepr) if report.longrepr else ""
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            outcome = "xfail" if report.skipped else "xpass"
        else:
            outcome = report.outcome
        if subtest and outcome == "passed":
            return
    elif report.failed:
        outcome = "error"
    elif report.skipped:
        outcome = "skipped"
    else:
        return
    RECORDS.append({"test": test, "outcome": outcome, "details": details, "subtest": subtest})


def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):
        return  # A pytest-xdist worker: its reports reach the controller, which writes.
    path = os.environ.get("CASES_RESULT")
    if path:
        Path(path).write_text(json.dumps(RECORDS))
