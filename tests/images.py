"""The images the cluster tests run, and which of them this cluster has.

Nothing can be pulled on the hermetic path (cluster/up.sh builds the node image and every image
itself, under MOORAGE_LOCAL_PREFIX): there PostgreSQL is the locally built Debian one.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import time

from tests.kube import CLUSTER_NAME, kubectl_json
from tests.tools import find_tool

SERVICE_IMAGE = os.environ.get("MOORAGE_SERVICE_IMAGE", "moorage/service:dev")
OPERATOR_IMAGE = os.environ.get("MOORAGE_OPERATOR_IMAGE", "moorage/operator:dev")
# The same image under another name: kubelet resolves both to the loaded image, so an "upgrade"
# needs no second build.
SERVICE_IMAGE_ALIAS = os.environ.get("MOORAGE_SERVICE_IMAGE_ALIAS", f"docker.io/{SERVICE_IMAGE}")
LOCAL_PREFIX = os.environ.get("MOORAGE_LOCAL_PREFIX", "moorage.local")
HERMETIC_POSTGRES = f"{LOCAL_PREFIX}/postgres:15-bookworm"
PUBLISHED_POSTGRES = "postgres:17-bookworm"


@functools.cache
def hermetic() -> bool:
    """The cluster runs our own node image (cluster/up.sh's hermetic path): nothing can be pulled."""
    proc = subprocess.run(
        [find_tool("docker"), "inspect", "-f", "{{.Config.Image}}", f"{CLUSTER_NAME}-control-plane"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return proc.stdout.strip().startswith(f"{LOCAL_PREFIX}/")


def postgres_image() -> str:
    """MOORAGE_POSTGRES_IMAGE, else the PostgreSQL image this cluster's path provides."""
    explicit = os.environ.get("MOORAGE_POSTGRES_IMAGE")
    if explicit:
        return explicit
    return HERMETIC_POSTGRES if hermetic() else PUBLISHED_POSTGRES


def split_image(ref: str) -> tuple[str, str]:
    repository, _, tag = ref.rpartition(":")
    return repository, tag


def load_image_alias(tag: str) -> str:
    """The service image under another tag, loaded into every node: a new version to roll out."""
    repository, _ = split_image(SERVICE_IMAGE)
    alias = f"{repository}:{tag}"
    subprocess.run([find_tool("docker"), "tag", SERVICE_IMAGE, alias], check=True, timeout=60)
    subprocess.run(
        [find_tool("kind"), "load", "docker-image", "--name", CLUSTER_NAME, alias],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return alias


def node_images() -> dict[str, set[str]]:
    """Every image tag in each node's containerd, by node, asked through `crictl` in the node container.

    The node status is no substitute: the kubelet reports at most five names per image, and an image
    loaded under several tags (skaffold, e2e aliases) may not show the one we look for.
    """
    found: dict[str, set[str]] = {}
    for node in kubectl_json("get", "nodes")["items"]:
        name = node["metadata"]["name"]
        proc = subprocess.run(
            [find_tool("docker"), "exec", name, "crictl", "images", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        found[name] = {
            tag for image in json.loads(proc.stdout)["images"] for tag in image.get("repoTags") or []
        }
    return found


def missing_node_images(wanted: list[str], timeout: float = 60) -> dict[str, list[str]]:
    """The wanted images each node lacks (nodes lacking none left out), after waiting for a load in flight."""
    deadline = time.monotonic() + timeout
    while True:
        missing = {
            node: lacking
            for node, tags in node_images().items()
            if (lacking := [image for image in wanted if not any(tag.endswith(image) for tag in tags)])
        }
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(5)
