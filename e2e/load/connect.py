"""Try one TCP connection and say what happened, as one JSON line (stdlib only).

    python connect.py HOST PORT [--timeout SECONDS]

Prints {"host", "port", "address", "outcome"}: the address the name resolved to (through the
cluster DNS for a Service name) and "connected", "timeout" (the packets were dropped, as a
NetworkPolicy does), "refused", "unresolved" or the name of another error. Exits 0 whatever happened.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys


def attempt(address: str, port: int, timeout: float) -> str:
    try:
        with socket.create_connection((address, port), timeout=timeout):
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
    try:
        address = str(socket.getaddrinfo(args.host, args.port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
    except socket.gaierror:
        print(json.dumps({"host": args.host, "port": args.port, "address": None, "outcome": "unresolved"}))
        return 0
    outcome = attempt(address, args.port, args.timeout)
    print(json.dumps({"host": args.host, "port": args.port, "address": address, "outcome": outcome}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
