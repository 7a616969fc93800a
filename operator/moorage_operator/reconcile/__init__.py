"""The reconcile decision, as a pipeline of small pure steps (see ``pipeline``)."""

from moorage_operator.reconcile.jobs import job_state
from moorage_operator.reconcile.model import Event, Instance, Notes, Observed, Outcome, Plan, Reads, Ref
from moorage_operator.reconcile.pipeline import failure_message_to_fetch, merge, plan, reads, rejected_status
from moorage_operator.reconcile.rollout import rollout_complete

__all__ = [
    "Event",
    "Instance",
    "Notes",
    "Observed",
    "Outcome",
    "Plan",
    "Reads",
    "Ref",
    "failure_message_to_fetch",
    "job_state",
    "merge",
    "plan",
    "reads",
    "rejected_status",
    "rollout_complete",
]
