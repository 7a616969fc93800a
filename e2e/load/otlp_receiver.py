"""An OTLP/HTTP trace receiver for the cluster: prints one JSON line per received span.

Runs with the service image's Python, which carries opentelemetry-proto as a dependency of the
OTLP exporter. Listens on :4318 and answers every export with an empty success response.
tests/otlp_receiver.py serves the in-process tests with the same handler.
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def export_handler(on_export: Callable[[ExportTraceServiceRequest], None]) -> type[BaseHTTPRequestHandler]:
    """A handler that passes each trace export to ``on_export``, then answers it with success."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            on_export(ExportTraceServiceRequest.FromString(body))
            payload = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: object) -> None:
            pass

    return Handler


# The server answers each export on its own thread: without the lock, two exports' lines can land
# on one line of the log (print writes the text and the newline separately).
PRINTING = threading.Lock()


def print_spans(request: ExportTraceServiceRequest) -> None:
    lines = []
    for resource_spans in request.resource_spans:
        service = next(
            (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"),
            "",
        )
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                line = {"service": service, "trace_id": span.trace_id.hex(), "name": span.name}
                lines.append(json.dumps(line) + "\n")
    with PRINTING:
        sys.stdout.write("".join(lines))
        sys.stdout.flush()


if __name__ == "__main__":
    print(json.dumps({"listening": 4318}), flush=True)
    ThreadingHTTPServer(("0.0.0.0", 4318), export_handler(print_spans)).serve_forever()
