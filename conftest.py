"""Repository-wide pytest hooks."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, object, object]:
    """Under `make test` (MOORAGE_NO_SKIP=1) a skipped test is a failed test: CI never passes by skipping."""
    report = yield
    if os.environ.get("MOORAGE_NO_SKIP") == "1" and isinstance(report, pytest.TestReport) and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under MOORAGE_NO_SKIP=1 (make test): {reason}"
    return report
