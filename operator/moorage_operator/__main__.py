"""``python -m moorage_operator``: ``kopf run`` with the settings taken from the environment.

- ``MOORAGE_WATCH_NAMESPACES``: comma-separated namespaces (globs allowed); empty watches all of them.
- ``MOORAGE_LIVENESS``: the liveness endpoint (default ``http://0.0.0.0:8080/healthz``).
- ``MOORAGE_METRICS_PORT``: the Prometheus ``/metrics`` port (default 8081 here; an operator started
  another way, e.g. in-process in the tests, serves it only when the variable is set).
- ``MOORAGE_PEERING_NAME`` / ``MOORAGE_PEERING_PRIORITY`` / ``MOORAGE_PEERING_MANDATORY``: see handlers.
Extra command-line arguments are passed to ``kopf run`` unchanged.
"""

from __future__ import annotations

import os
import sys

from kopf.cli import main as kopf_main


def kopf_arguments(environ: dict[str, str], extra: list[str]) -> list[str]:
    args = [
        "run",
        "-m",
        "moorage_operator",
        "--liveness",
        environ.get("MOORAGE_LIVENESS", "http://0.0.0.0:8080/healthz"),
    ]
    namespaces = [ns.strip() for ns in environ.get("MOORAGE_WATCH_NAMESPACES", "").split(",") if ns.strip()]
    if namespaces:
        for namespace in namespaces:
            args += ["--namespace", namespace]
    else:
        args.append("--all-namespaces")
    if environ.get("MOORAGE_LOG_FORMAT"):
        args += ["--log-format", environ["MOORAGE_LOG_FORMAT"]]
    return args + extra


def main() -> None:
    os.environ.setdefault("MOORAGE_METRICS_PORT", "8081")
    kopf_main(args=kopf_arguments(dict(os.environ), sys.argv[1:]), prog_name="moorage-operator")


if __name__ == "__main__":
    main()
