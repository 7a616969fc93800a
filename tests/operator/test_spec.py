import pytest
from moorage_operator.spec import DEFAULT_REPLICAS, InvalidSpec, grace_problem, parse_spec

from .conftest import spec


def test_defaults() -> None:
    app = parse_spec({"image": "i", "database": {"secretRef": {"name": "db"}}})
    assert app.replicas == DEFAULT_REPLICAS
    assert app.database.key == "DATABASE_URL"
    assert app.migration_database == app.database
    assert app.migrations.enabled is True
    assert app.rotation.grace_period < app.rotation.interval


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"image": ""}, "InvalidSpec"),
        ({"database": {}}, "InvalidSpec"),
        ({"config": [{"name": "lower", "value": "x"}]}, "InvalidConfig"),
        ({"config": [{"name": "SECRET_KEY", "value": "x"}]}, "InvalidConfig"),
        ({"config": {"LOG_LEVEL": "x"}}, "InvalidConfig"),
        ({"secretRotation": {"interval": "1h", "gracePeriod": "2h"}}, "InvalidSpec"),
        ({"secretRotation": {"interval": "30d"}}, "InvalidSpec"),
        ({"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}, "InvalidSpec"),
    ],
)
def test_invalid_specs_name_a_reason(override: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse_spec(spec(**override))
    assert info.value.reason == reason
    assert "spec." in info.value.message


def test_grace_must_cover_the_longest_token() -> None:
    assert grace_problem(parse_spec(spec())) is None  # 2h grace, 1h refresh tokens
    short = parse_spec(spec(secretRotation={"interval": "720h", "gracePeriod": "30m"}))
    problem = grace_problem(short)
    assert problem is not None
    assert "gracePeriod" in problem
