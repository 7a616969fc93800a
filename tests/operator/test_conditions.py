from datetime import timedelta

from moorage_operator.conditions import Condition, merge_conditions

from .conftest import NOW


def test_first_conditions_get_the_current_time_and_generation() -> None:
    merged = merge_conditions(None, [Condition("Ready", False, "Migrating", "m")], generation=3, now=NOW)
    assert merged == [
        {
            "type": "Ready",
            "status": "False",
            "reason": "Migrating",
            "message": "m",
            "lastTransitionTime": "2026-01-01T12:00:00Z",
            "observedGeneration": 3,
        }
    ]


def test_transition_time_stays_while_status_is_unchanged() -> None:
    first = merge_conditions(None, [Condition("Ready", False, "Migrating")], generation=1, now=NOW)
    later = NOW + timedelta(minutes=5)
    second = merge_conditions(first, [Condition("Ready", False, "RollingOut", "x")], generation=2, now=later)
    assert second[0]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert second[0]["reason"] == "RollingOut"
    assert second[0]["observedGeneration"] == 2


def test_transition_time_moves_when_status_flips() -> None:
    first = merge_conditions(None, [Condition("Ready", False, "Migrating")], generation=1, now=NOW)
    later = NOW + timedelta(minutes=5)
    second = merge_conditions(first, [Condition("Ready", True, "Available")], generation=1, now=later)
    assert second[0]["lastTransitionTime"] == "2026-01-01T12:05:00Z"
    assert second[0]["status"] == "True"


def test_conditions_are_ordered_ready_progressing_degraded() -> None:
    merged = merge_conditions(
        None,
        [
            Condition("Degraded", False, "AsExpected"),
            Condition("Ready", True, "A"),
            Condition("Progressing", False, "R"),
        ],
        generation=1,
        now=NOW,
    )
    assert [c["type"] for c in merged] == ["Ready", "Progressing", "Degraded"]
