#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of the S3 test server.

A real S3-compatible server cannot be told to answer 503 SlowDown or to cut a body half-way on
demand, so the retry and resume paths of S3Client are tested through this proxy. Everything else
is forwarded unchanged to the real server.

    fault_proxy.py --listen-port P --upstream http://127.0.0.1:Q

Faults are set with `POST /__fault` and a JSON body, and counted with `GET /__fault`:
    {"fail_next": N}            the next N requests get 503 SlowDown (S3's error XML)
    {"cut_next": N, "cut_after": B}  the next N GET bodies stop after B bytes (connection closed)
    {"error_next": N}           the next N requests get 500 InternalError
    {"stall_next": N, "stall_after": B, "stall_seconds": S}  the next N GET bodies stop sending for
                                S seconds after B bytes, then close (a store that hangs mid-body)
    {"drip": B}                 every GET body is sent B bytes at a time, 10 ms apart (a slow store)
    {"cut_at_offset": B}        every GET body stops at byte B of the object (a ranged retry that
                                starts there gets nothing): a store that fails for good mid-object

`GET /__traceparents` lists the W3C `traceparent` headers of the requests forwarded so far (the
last 1000), so a test sees that a traced request carried its trace to the store.

Two behaviours of AWS S3 that moto lacks can be switched on (1) and are counted:
    {"if_range": 1}      a ranged GET whose If-Range is not the object's ETag gets the whole
                         object (200), as RFC 9110 says and S3 does ("if_range_mismatch")
    {"expire_presigned": 1}  a presigned GET past X-Amz-Date + X-Amz-Expires gets S3's 403
                         AccessDenied "Request has expired" ("expired")
"""
import calendar
import time
import argparse
import http.client
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {
    "fail_next": 0, "cut_next": 0, "cut_after": 0, "cut_at_offset": 0, "error_next": 0, "errored": 0,
    "stall_next": 0, "stall_after": 0, "stall_seconds": 0, "stalled": 0, "drip": 0, "requests": 0, "failed": 0, "cut": 0,
    "if_range": 0, "if_range_mismatch": 0, "ranged": 0, "expire_presigned": 0, "expired": 0,
}
LOCK = threading.Lock()
TRACEPARENTS = []
INTERNAL = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message><RequestId>fault-proxy</RequestId></Error>"
)
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>"
)
EXPIRED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message><RequestId>fault-proxy</RequestId></Error>"
)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _control(self):
        if self.command == "POST":
            with LOCK:
                STATE.update(json.loads(self._body() or b"{}"))
        with LOCK:
            payload = json.dumps(STATE).encode()
        self._json(payload)

    def _traceparents(self):
        with LOCK:
            payload = json.dumps(TRACEPARENTS).encode()
        self._json(payload)

    def _json(self, payload):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _forward(self):
        if self.path.startswith("/__fault"):
            return self._control()
        if self.path.startswith("/__traceparents"):
            return self._traceparents()
        body = self._body()
        with LOCK:
            STATE["requests"] += 1
            if "traceparent" in self.headers:
                TRACEPARENTS.append(self.headers["traceparent"])
                del TRACEPARENTS[:-1000]
            fail = STATE["fail_next"] > 0
            if fail:
                STATE["fail_next"] -= 1
                STATE["failed"] += 1
            cut = self.command == "GET" and not fail and STATE["cut_next"] > 0
            if cut:
                STATE["cut_next"] -= 1
                STATE["cut"] += 1
            cut_after = STATE["cut_after"]
        if fail:
            return self._error(503, SLOW_DOWN)
        with LOCK:
            internal = STATE["error_next"] > 0
            if internal:
                STATE["error_next"] -= 1
                STATE["errored"] += 1
            stall = self.command == "GET" and not internal and STATE["stall_next"] > 0
            if stall:
                STATE["stall_next"] -= 1
                STATE["stalled"] += 1
        if internal:
            return self._error(500, INTERNAL)
        if self.command == "GET" and STATE["expire_presigned"] and self._presigned_expired():
            with LOCK:
                STATE["expired"] += 1
            return self._error(403, EXPIRED)
        target = urllib.parse.urlsplit(self.upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        if self.command == "GET" and "Range" in self.headers:
            with LOCK:
                STATE["ranged"] += 1
            if STATE["if_range"] and "If-Range" in self.headers:
                head = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                head.request("HEAD", self.path, headers={"Host": self.headers.get("Host", "")})
                etag = head.getresponse().getheader("ETag")
                head.close()
                if self.headers["If-Range"] != etag:
                    with LOCK:
                        STATE["if_range_mismatch"] += 1
                    headers = {k: v for k, v in headers.items() if k.lower() not in ("range", "if-range")}
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        conn.request(self.command, self.path, body=body or None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(k, v)
        cut_at = STATE["cut_at_offset"]
        if self.command == "GET" and cut_at > 0 and response.status in (200, 206) and not cut:
            content_range = response.getheader("Content-Range") or ""
            start = int(content_range.split(" ")[1].split("-")[0]) if content_range.startswith("bytes ") else 0
            if start + len(data) > cut_at:
                cut, cut_after = True, max(0, cut_at - start)
                with LOCK:
                    STATE["cut"] += 1
        length = response.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        if cut:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[:cut_after])
            self.wfile.flush()
            self.close_connection = True
            return
        if stall:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: STATE["stall_after"]])
            self.wfile.flush()
            time.sleep(STATE["stall_seconds"])
            self.close_connection = True
            return
        self.end_headers()
        if self.command == "GET" and STATE["drip"] > 0:
            step = STATE["drip"]
            for i in range(0, len(data), step):
                self.wfile.write(data[i : i + step])
                self.wfile.flush()
                time.sleep(0.01)
        elif self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # A HEAD answer has no body (as S3's): bytes written after one stayed on the keep-alive
        # connection and were read as the next answer's start (HeadBucket retries failed as
        # "Unreachable" now and then).
        if self.command != "HEAD":
            self.wfile.write(body)

    def _presigned_expired(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if "X-Amz-Date" not in query or "X-Amz-Expires" not in query:
            return False
        signed = calendar.timegm(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))
        return time.time() > signed + int(query["X-Amz-Expires"][0])

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen-port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    Handler.upstream = args.upstream
    server = ThreadingHTTPServer(("127.0.0.1", args.listen_port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
