"""A Prometheus text-exposition lint in Python: prometheus_client's parser plus promtool's checks.

``lint`` returns the problems found (empty: clean) and ``samples`` the parsed values, so a test can
both check the format and read the counts.
"""

from __future__ import annotations

import math
import re

from prometheus_client.parser import text_string_to_metric_families

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
KNOWN_TYPES = {"counter", "gauge", "histogram", "summary", "info", "stateset", "unknown"}


def lint(text: str) -> list[str]:
    problems: list[str] = []
    helped = {line.split()[2] for line in text.splitlines() if line.startswith("# HELP ")}
    typed = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    if not text.endswith("\n"):
        problems.append("the exposition does not end with a newline")
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for family in text_string_to_metric_families(text):
        exposed = f"{family.name}_total" if family.type == "counter" else family.name
        if not NAME.match(family.name):
            problems.append(f"{family.name}: invalid metric name")
        if family.type not in KNOWN_TYPES:
            problems.append(f"{family.name}: unknown type {family.type}")
        if family.name not in helped and exposed not in helped:
            problems.append(f"{family.name}: no HELP")
        if family.name not in typed and exposed not in typed:
            problems.append(f"{family.name}: no TYPE")
        if not (family.documentation or "").strip():
            problems.append(f"{family.name}: empty HELP text")
        buckets: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            key = (sample.name, labels)
            if key in seen:
                problems.append(f"{sample.name}{dict(labels)}: duplicate series")
            seen.add(key)
            for label in sample.labels:
                if not LABEL.match(label) or label.startswith("__"):
                    problems.append(f"{sample.name}: invalid label name {label}")
            if family.type == "counter" and sample.name.endswith("_total") and sample.value < 0:
                problems.append(f"{sample.name}: negative counter")
            if sample.name.endswith("_bucket"):
                rest = tuple((k, v) for k, v in labels if k != "le")
                buckets.setdefault(rest, []).append((float(sample.labels["le"]), sample.value))
        for rest, series in buckets.items():
            bounds = [le for le, _ in series]
            counts = [count for _, count in series]
            if bounds != sorted(bounds) or not bounds or not math.isinf(bounds[-1]):
                problems.append(f"{family.name}{dict(rest)}: buckets unsorted or without +Inf")
            if counts != sorted(counts):
                problems.append(f"{family.name}{dict(rest)}: bucket counts not cumulative")
    return problems


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(parsed: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels``."""
    return sum(
        v
        for (n, ls), v in parsed.items()
        if n == name and all(dict(ls).get(k) == want for k, want in labels.items())
    )
