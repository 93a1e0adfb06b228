"""Let case tests record events for the meta-tests to check (see tests/harness.py)."""

import json
import os
import threading


def log(test, event, **data):
    """Append an event of ``test`` (a TestCase) to $CASES_LOG."""
    path = os.environ.get("CASES_LOG")
    record = {
        "test": f"{type(test).__name__}.{test._testMethodName}" if test is not None else "",
        "event": event,
        "thread": threading.current_thread().name,
        "pid": os.getpid(),
        **data,
    }
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(record, default=str) + "\n")
