"""Fixtures of the kubectl-driven e2e tests on the kind cluster (make cluster); harness: tests/kube.py."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.kube import CONTEXT, cluster_unreachable_reason, create_namespace, delete_namespace, dump_namespace


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session", autouse=True)
def cluster() -> str:
    """The context under test; fails every test when it does not answer."""
    reason = cluster_unreachable_reason()
    if reason:
        pytest.fail(f"{reason}; run `make cluster` first")
    return CONTEXT


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace per test; dumped on failure, then deleted."""
    name = create_namespace(f"e2e-{request.node.name.replace('_', '-')[:40].strip('-')}")
    yield name
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(dump_namespace(name))
    delete_namespace(name)
