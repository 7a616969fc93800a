import re

from hypothesis import given
from hypothesis import strategies as st
from moorage_operator.names import keyring_name, migration_job_name

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_job_name_is_stable_for_the_same_instance_and_image() -> None:
    assert migration_job_name("shop", "moorage/service:2") == migration_job_name("shop", "moorage/service:2")


def test_job_name_changes_with_the_image() -> None:
    assert migration_job_name("shop", "moorage/service:2") != migration_job_name("shop", "moorage/service:3")


def test_job_name_changes_with_the_migration_inputs() -> None:
    assert migration_job_name("shop", "i:2", "db/URL/") != migration_job_name("shop", "i:2", "db/URL/retry-1")


def test_job_name_keeps_the_instance_readable() -> None:
    assert migration_job_name("shop", "x:1").startswith("shop-migrate-")


@given(
    instance=st.from_regex(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True),
    image=st.text(min_size=1, max_size=300),
)
def test_job_name_is_a_dns_label_of_at_most_63(instance: str, image: str) -> None:
    name = migration_job_name(instance, image)
    assert len(name) <= 63
    assert DNS_LABEL.match(name), name


def test_long_child_names_are_bounded() -> None:
    name = keyring_name("a" * 63)
    assert len(name) <= 63
    assert DNS_LABEL.match(name)
