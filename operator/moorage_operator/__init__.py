"""The moorage operator: runs the service from an ``AppInstance`` custom resource.

``kopf run -m moorage_operator`` (or ``python -m moorage_operator``) loads the handlers from
:mod:`moorage_operator.handlers`; the other modules are plain code, testable without a cluster.
"""

__version__ = "0.1.0"

from moorage_operator import handlers as handlers  # registers the kopf handlers on import
