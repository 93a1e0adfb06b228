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


def connection_thread(alias="default"):
    """The name of the thread whose connection the ORM uses here.

    Database code of an async test runs on the test's database worker, with
    the test thread's own connection objects: "MainThread" means the test's
    connection, inside its transaction. (``_thread_ident`` is Django's record
    of the thread that made the connection object.)
    """
    from django.db import connections

    ident = connections[alias]._thread_ident
    return next((t.name for t in threading.enumerate() if t.ident == ident), f"thread {ident}")
