"""Fixtures of the e2e suite: namespaces shared by a module, dumps on failure, the figures table.

Every test records its load counts with `figures.add(...)`; the table of requests, failures and
durations is printed at the end of the run (also without -s).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from e2e.suite.load import LoadResult
from tests.images import load_image_alias
from tests.kube import create_namespace, dump_namespace


@dataclass
class Figure:
    test: str
    seconds: float = 0.0
    loads: list[tuple[str, LoadResult]] = field(default_factory=list)
    outcome: str = ""


@dataclass
class Figures:
    rows: dict[str, Figure] = field(default_factory=dict)
    current: str = ""

    def add(self, label: str, result: LoadResult) -> None:
        self.rows[self.current].loads.append((label, result))


FIGURES = Figures()
# Namespaces to dump when a test of the module fails, by module name.
MODULE_NAMESPACES: dict[str, list[str]] = {}


@pytest.fixture
def figures() -> Figures:
    return FIGURES


@pytest.fixture(autouse=True)
def _record_and_dump(request: pytest.FixtureRequest) -> Iterator[None]:
    name = request.node.name
    FIGURES.rows[name] = Figure(name)
    FIGURES.current = name
    started = time.monotonic()
    yield
    figure = FIGURES.rows[name]
    figure.seconds = time.monotonic() - started
    rep = getattr(request.node, "rep_call", None)
    figure.outcome = "failed" if rep is None or rep.failed else "passed"
    if rep is not None and rep.failed:
        for namespace in MODULE_NAMESPACES.get(request.module.__name__, []):
            print(dump_namespace(namespace))


def module_namespace(request: pytest.FixtureRequest, prefix: str) -> str:
    """A new namespace ``e2e-<prefix>-…`` for a module's tests, dumped when one of them fails."""
    name = create_namespace(f"e2e-{prefix}")
    MODULE_NAMESPACES.setdefault(request.module.__name__, []).append(name)
    return name


@pytest.fixture(scope="session")
def service_image_v2() -> str:
    """The service image under a second tag, loaded into the node: a new version to upgrade to."""
    return load_image_alias("e2e-2")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES.rows:
        return
    write = terminalreporter.write_line
    terminalreporter.section("e2e suite: load figures per test")
    total_seconds = 0.0
    for figure in FIGURES.rows.values():
        total_seconds += figure.seconds
        loads = "; ".join(f"{label}: {r.requests} req / {r.failures} failed" for label, r in figure.loads)
        write(f"{figure.outcome:7} {figure.seconds:6.0f}s  {figure.test}  {loads or '(no load)'}")
    write(f"e2e suite total: {total_seconds:.0f}s in {len(FIGURES.rows)} tests")
