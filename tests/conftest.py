"""pytest hooks for the project's own suite (also loaded, and inert, in case runs)."""

import os
import sys

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """With pytest-xdist's ``-n`` and no ``--dist``, keep each meta-test class on
    one worker: its case runs are shared by the class's tests."""
    if getattr(config.option, "numprocesses", None) and config.option.dist == "no":
        config.option.dist = "loadscope"


def pytest_collection_finish(session):
    """Tell the harness which meta-tests will run, so it runs only the case
    classes they use (see tests/harness.py)."""
    harness = sys.modules.get("tests.harness")
    if harness is None:
        return  # A case run: no meta-tests here.
    harness.select_only(
        (item.cls, item.name)
        for item in session.items
        if isinstance(getattr(item, "cls", None), type)
        and issubclass(item.cls, harness.CaseRunsTests)
    )


def pytest_ignore_collect(collection_path, config):
    """tests/plugin_cases holds pytest test files that fail on purpose; only the
    meta-tests of tests/test_pytest_plugin.py run them (and set PLUGIN_CASE_RUNNER)."""
    if "plugin_cases" in collection_path.parts and "PLUGIN_CASE_RUNNER" not in os.environ:
        return True
    return None
