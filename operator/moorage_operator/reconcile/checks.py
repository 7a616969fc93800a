"""Step: what is wrong with the spec or its surroundings that no write can fix by itself."""

from __future__ import annotations

from moorage_operator.reconcile.migration import migrated_image
from moorage_operator.reconcile.model import Observed, Outcome, truncate
from moorage_operator.spec import AppSpec, grace_problem


def serving_blocked(observed: Observed) -> bool:
    """A Secret or ConfigMap the serving pods need is missing: nothing may roll (the pods could not start)."""
    return observed.database_secret_present is False or bool(observed.missing_references)


def migration_blocked(observed: Observed) -> bool:
    """The migration Job could not start: its own Secret or one the pods need is missing."""
    return serving_blocked(observed) or observed.migration_secret_present is False


def _missing(notes: list[list[tuple[str, str]]], reason: str, message: str) -> None:
    for kind in notes:
        kind.append((reason, truncate(message)))


def check(app: AppSpec, observed: Observed) -> Outcome:
    out = Outcome()
    notes = out.notes
    if observed.rejected:
        notes.degraded.append(("ChildRejected", truncate(observed.rejected)))
        notes.not_ready.append(("ChildRejected", truncate(observed.rejected)))
        notes.stalled.append(("ChildRejected", truncate(observed.rejected)))
    problem = grace_problem(app)
    if problem:
        notes.degraded.append(("GracePeriodTooShort", problem))
    blocking = [notes.degraded, notes.not_ready, notes.stalled]
    if observed.database_secret_present is False:
        message = (
            f"the Secret {app.database.name!r} with key {app.database.key!r} (spec.database.secretRef) "
            "is missing: nothing rolls until it exists"
        )
        _missing(blocking, "DatabaseSecretMissing", message)
    if observed.missing_references:
        listed = "; ".join(ref.describe() for ref in observed.missing_references)
        _missing(blocking, "ReferenceMissing", f"missing: {listed}; nothing rolls until it exists")
    migrating = app.migrations.enabled and app.image != migrated_image(observed)
    if observed.migration_secret_present is False and migrating and app.migration_database != app.database:
        ref = app.migration_database
        message = (
            f"the migration Secret {ref.name!r} with key {ref.key!r} (spec.database.migrationSecretRef) is "
            f"missing: the migration for {app.image} waits for it; the running pods keep serving"
        )
        _missing(blocking, "DatabaseSecretMissing", message)
    return out
