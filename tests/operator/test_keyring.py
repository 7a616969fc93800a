import hashlib
from datetime import timedelta
from itertools import count

from moorage_operator.keyring import (
    Action,
    KeyRing,
    key_id,
    plan_rotation,
    ring_from_secret,
    ring_secret_content,
    rotation_due_at,
)
from moorage_operator.spec import Rotation

from .conftest import NOW

ROTATION = Rotation(interval=timedelta(hours=720), grace_period=timedelta(hours=25))
_keys = count()


def make_key() -> str:
    return f"key-{next(_keys):04d}-" + "x" * 40


def test_key_id_matches_the_service_contract() -> None:
    assert key_id("secret") == hashlib.sha256(b"secret").hexdigest()[:16]


def test_absent_ring_is_created_without_previous() -> None:
    decision = plan_rotation(None, now=NOW, rotation=ROTATION, requested=None, make_key=make_key)
    assert decision.action is Action.CREATED
    assert decision.ring.previous is None
    assert decision.ring.rotated_at == NOW


def test_nothing_happens_before_the_interval() -> None:
    ring = KeyRing(current="a" * 40, rotated_at=NOW)
    decision = plan_rotation(ring, now=NOW + timedelta(hours=719), rotation=ROTATION, requested=None)
    assert decision.action is Action.NONE
    assert decision.ring == ring


def test_rotation_is_due_at_last_rotation_plus_interval() -> None:
    ring = KeyRing(current="a" * 40, rotated_at=NOW)
    assert rotation_due_at(ring, ROTATION) == NOW + timedelta(hours=720)
    due = NOW + timedelta(hours=720)
    decision = plan_rotation(ring, now=due, rotation=ROTATION, requested=None, make_key=make_key)
    assert decision.action is Action.ROTATED


def test_rotation_moves_current_to_previous_with_a_grace() -> None:
    ring = KeyRing(current="old" * 12, rotated_at=NOW)
    later = NOW + timedelta(hours=721)
    rotated = plan_rotation(ring, now=later, rotation=ROTATION, requested=None, make_key=make_key).ring
    assert rotated.previous == ring.current
    assert rotated.previous_id == ring.current_id
    assert rotated.current != ring.current
    assert rotated.rotated_at == later
    assert rotated.previous_expires_at == later + ROTATION.grace_period
    assert rotated.version != ring.version


def test_on_demand_rotation_answers_a_new_annotation_value_once() -> None:
    ring = KeyRing(current="a" * 40, rotated_at=NOW)
    decision = plan_rotation(ring, now=NOW, rotation=ROTATION, requested="1", make_key=make_key)
    assert decision.action is Action.ROTATED
    assert decision.ring.rotate_handled == "1"
    # The same value again, after the grace: nothing to do.
    after_grace = NOW + ROTATION.grace_period + timedelta(seconds=1)
    again = plan_rotation(decision.ring, now=after_grace, rotation=ROTATION, requested="1")
    assert again.action is Action.DROPPED_PREVIOUS


def test_rotation_waits_while_the_previous_key_is_in_its_grace() -> None:
    ring = KeyRing(
        current="b" * 40,
        rotated_at=NOW,
        previous="a" * 40,
        previous_expires_at=NOW + timedelta(hours=1),
    )
    decision = plan_rotation(ring, now=NOW + timedelta(minutes=5), rotation=ROTATION, requested="2")
    assert decision.action is Action.DEFERRED
    assert decision.ring == ring
    assert (
        rotation_due_at(ring, Rotation(timedelta(minutes=30), timedelta(minutes=20)))
        == ring.previous_expires_at
    )


def test_previous_key_is_kept_during_the_grace_and_dropped_after() -> None:
    ring = KeyRing(
        current="b" * 40, rotated_at=NOW, previous="a" * 40, previous_expires_at=NOW + timedelta(hours=25)
    )
    kept = plan_rotation(ring, now=NOW + timedelta(hours=24, minutes=59), rotation=ROTATION, requested=None)
    assert kept.action is Action.NONE
    dropped = plan_rotation(ring, now=NOW + timedelta(hours=25), rotation=ROTATION, requested=None)
    assert dropped.action is Action.DROPPED_PREVIOUS
    assert dropped.ring.previous is None
    assert dropped.ring.current == ring.current
    assert dropped.ring.rotated_at == ring.rotated_at


def test_ring_round_trips_through_its_secret() -> None:
    ring = KeyRing(
        current="b" * 40,
        rotated_at=NOW,
        previous="a" * 40,
        previous_expires_at=NOW + timedelta(hours=25),
        rotate_handled="7",
    )
    data, annotations = ring_secret_content(ring)
    assert set(data) == {"SECRET_KEY", "SECRET_KEY_PREVIOUS"}
    assert annotations["apps.moorage.dev/key-id"] == ring.current_id
    assert ring_from_secret({"data": data, "metadata": {"annotations": annotations}}) == ring


def test_unusable_secret_reads_as_no_ring() -> None:
    assert ring_from_secret(None) is None
    assert ring_from_secret({"data": {"SECRET_KEY": "not base64!"}, "metadata": {}}) is None
