"""The moorage operator: runs the service from an ``AppInstance`` custom resource.

The handlers live in :mod:`moorage_operator.handlers` (``kopf run -m moorage_operator.handlers``);
everything else is plain code that can be tested without a cluster.
"""

__version__ = "0.1.0"
