from datetime import timedelta

import pytest
from moorage_operator.durations import format_time, parse_duration, parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("25h", 90000), ("1h30m", 5400), ("720h", 2592000), ("1h0m5s", 3605)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30d", "h", "1h 30m", "-5m", "10"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_times_round_trip() -> None:
    moment = parse_time("2026-01-01T12:00:00Z")
    assert moment is not None
    assert format_time(moment) == "2026-01-01T12:00:00Z"
    assert parse_time("garbage") is None
