#!/usr/bin/env python3
"""A minimal OTLP/HTTP receiver for the trace test: accepts POST /v1/traces in OTLP's JSON
encoding (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) and appends each export, one JSON document a
line, to OUT. Binds 127.0.0.1:PORT; prints "ready" once listening.

    otlp_receiver.py PORT OUT
"""
import http.server
import json
import sys

port, out = int(sys.argv[1]), sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/v1/traces" or "json" not in (self.headers.get("Content-Type") or ""):
            self.send_response(415 if self.path == "/v1/traces" else 404)
            self.end_headers()
            return
        document = json.loads(body)
        with open(out, "a") as f:
            f.write(json.dumps(document) + "\n")
        reply = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("ready", flush=True)
server.serve_forever()
