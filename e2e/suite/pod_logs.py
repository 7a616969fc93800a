"""The logs of a namespace's pods while a load runs, kept after a rollout or a drain deletes the pods.

A request that failed names its ``request_id``; the pod that answered it is often gone by the time
the test looks (an old ReplicaSet's pod, an evicted one), and so is its log. ``PodLogs`` follows
every matching pod from the moment it appears until it ends, into memory.
"""

from __future__ import annotations

import subprocess
import threading

from tests.kube import CONTEXT, kubectl_json
from tests.tools import find_tool

# Everything but the suite's own script pods (load clients, toolbox, receivers).
NOT_OURS = "app.kubernetes.io/part-of!=e2e"
POLL_SECONDS = 2.0
ATTEMPTS = 30  # per pod: a container that has not started yet gives `kubectl logs` nothing to follow


class PodLogs:
    def __init__(self, namespace: str, selector: str = NOT_OURS) -> None:
        self.namespace = namespace
        self.selector = selector
        self.lines: dict[str, list[str]] = {}
        self.followers: dict[str, subprocess.Popen[str]] = {}
        self.attempts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> PodLogs:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)
        for follower in self.followers.values():
            follower.terminate()
        for follower in self.followers.values():
            try:
                follower.wait(timeout=10)
            except subprocess.TimeoutExpired:
                follower.kill()

    def matching(self, needle: str) -> list[str]:
        """Every kept line that contains ``needle``, prefixed with its pod's name."""
        with self.lock:
            return [f"{pod}: {line}" for pod, lines in self.lines.items() for line in lines if needle in line]

    def _watch(self) -> None:
        while not self.stopped.is_set():
            try:
                listed = kubectl_json("-n", self.namespace, "get", "pods", "-l", self.selector)["items"]
            except AssertionError:  # the API server busy for a moment: the next poll lists them
                listed = []
            for pod in (item["metadata"]["name"] for item in listed):
                follower = self.followers.get(pod)
                # A follower that ended with nothing kept started before the container did: again.
                again = follower is not None and follower.poll() is not None and not self.lines.get(pod)
                if (follower is None or again) and self.attempts.get(pod, 0) < ATTEMPTS:
                    self.attempts[pod] = self.attempts.get(pod, 0) + 1
                    self._follow(pod)
            self.stopped.wait(POLL_SECONDS)

    def _follow(self, pod: str) -> None:
        process = subprocess.Popen(
            [
                find_tool("kubectl"),
                "--context",
                CONTEXT,
                "-n",
                self.namespace,
                "logs",
                "--follow",
                "--all-containers",
                pod,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.followers[pod] = process

        def keep() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                with self.lock:
                    self.lines.setdefault(pod, []).append(line.rstrip("\n"))

        threading.Thread(target=keep, daemon=True).start()
