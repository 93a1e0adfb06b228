"""A pytest plugin that runs coroutine test functions on an event loop in another thread.

Stands for a runner the plugin cannot serve: loaded with
``-p tests.plugin_cases._thread_runner`` by tests/test_pytest_plugin.py.
"""

import asyncio
import inspect
import threading

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    outcome = {}

    def run():
        try:
            asyncio.run(function(**kwargs))
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="loop thread")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return True
