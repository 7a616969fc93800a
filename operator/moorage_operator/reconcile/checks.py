"""Step: what is wrong with the spec or its surroundings that no write can fix by itself."""

from __future__ import annotations

from moorage_operator.reconcile.model import Observed, Outcome, truncate
from moorage_operator.spec import AppSpec, grace_problem


def database_missing(observed: Observed) -> bool:
    return observed.database_secret_present is False


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
    if database_missing(observed):
        message = (
            f"the Secret {app.database.name!r} with key {app.database.key!r} "
            f"(or the migration Secret {app.migration_database.name!r}) is missing"
        )
        notes.degraded.append(("DatabaseSecretMissing", message))
        notes.not_ready.append(("DatabaseSecretMissing", message))
        notes.stalled.append(("DatabaseSecretMissing", message))
    return out
