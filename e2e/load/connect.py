"""Try one TCP connection and say what happened, as one JSON line (stdlib only).

    python connect.py HOST PORT [--timeout SECONDS]

Prints {"host", "port", "outcome"}: "connected", "timeout" (the packets were dropped, as a
NetworkPolicy does), "refused", or the name of another error. Exits 0 whatever the outcome.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys


def attempt(host: str, port: int, timeout: float) -> str:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return "connected"
    except TimeoutError:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except OSError as error:
        return type(error).__name__ + (f": {error.strerror}" if error.strerror else "")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--timeout", type=float, default=3)
    args = parser.parse_args()
    outcome = attempt(args.host, args.port, args.timeout)
    print(json.dumps({"host": args.host, "port": args.port, "outcome": outcome}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
