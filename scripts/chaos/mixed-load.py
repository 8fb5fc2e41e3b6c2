#!/usr/bin/env python3
"""Mixed load for the crash campaign (issue 24, item 1; RELIABILITY.md).

  mixed-load.py run    --url U --token T --state FILE --seconds S [--workers N]
  mixed-load.py verify --url U --token T --state FILE

`run` drives one-shot and tus uploads, downloads through /content, /d/ and limited /t/ links,
zip bundles of two files (their members checked), link issuance and revocation, for S seconds, tolerating a server that is killed and restarted
under it: every acknowledged upload, issued limited link, download a link served and revocation
is appended to FILE as a JSON line the moment its answer arrives. Bytes that arrive whole are
checked against the SHA-256 of what was uploaded ("wrong" lines). `verify` (server running)
checks what must hold after the crashes: every acknowledged upload is there with its SHA-256,
every listed file's bytes match its SHA-256 (no partial file visible), no limited link served
more clients than its limit (by the catalog's count and by what the load saw), and nothing was
served after a revocation was acknowledged. It prints one JSON object; "problems" must be empty.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import threading
import time
import urllib.parse

LOCK = threading.Lock()


def record(state, entry):
    entry["at"] = time.time()
    with LOCK:
        with open(state, "a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()


def request(url, method, path, token=None, body=None, headers=None, timeout=30):
    """One request on a fresh connection: (status, headers, body) or None when the server is gone."""
    parts = urllib.parse.urlsplit(url)
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    try:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        conn.request(method, path, body=body, headers=h)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, dict(response.getheaders()), data
    except (OSError, http.client.HTTPException):
        return None


class Load:
    def __init__(self, args):
        self.args = args
        self.files = []  # (id, sha256) acknowledged
        self.links = []  # (link_id, path, limit)
        self.revoked = {}  # link_id -> time the revocation was acknowledged
        self.rng = random.Random(args.seed)

    def upload(self):
        size = self.rng.choice([0, 1, 1000, 65536, 300_000, 2_000_000])
        body = os.urandom(size)
        digest = hashlib.sha256(body).hexdigest()
        name = f"load-{self.rng.randrange(1 << 30)}.bin"
        if self.rng.random() < 0.3:
            return self.tus(body, digest, name)
        answer = request(self.args.url, "POST", f"/v1/files?name={name}", self.args.token, body)
        if answer and answer[0] == 201:
            file_id = json.loads(answer[2])["id"]
            with LOCK:
                self.files.append((file_id, digest))
            record(self.args.state, {"ack": file_id, "sha256": digest, "via": "post"})

    def tus(self, body, digest, name):
        metadata = "filename " + base64.b64encode(name.encode()).decode()
        created = request(
            self.args.url, "POST", "/v1/uploads", self.args.token,
            headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(body)), "Upload-Metadata": metadata},
        )
        if not created or created[0] != 201:
            return
        location = urllib.parse.urlsplit(created[1].get("Location", "")).path
        offset = 0
        while offset < len(body) or len(body) == 0:
            chunk = body[offset : offset + max(1, len(body) // 2 + 1)]
            answer = request(
                self.args.url, "PATCH", location, self.args.token, chunk,
                headers={"Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
                         "Content-Type": "application/offset+octet-stream"},
            )
            if not answer or answer[0] != 204:
                return
            offset = int(answer[1].get("Upload-Offset", offset))
            file_id = answer[1].get("Ferry-File-Id")
            if file_id:
                with LOCK:
                    self.files.append((file_id, digest))
                record(self.args.state, {"ack": file_id, "sha256": digest, "via": "tus"})
                return
            if len(body) == 0:
                return

    def pick_file(self):
        with LOCK:
            return self.rng.choice(self.files) if self.files else None

    def download(self):
        picked = self.pick_file()
        if not picked:
            return
        file_id, digest = picked
        path = self.rng.choice([f"/v1/files/{file_id}/content", f"/d/{file_id}"])
        answer = request(self.args.url, "GET", path, self.args.token)
        if answer and answer[0] == 200 and hashlib.sha256(answer[2]).hexdigest() != digest:
            record(self.args.state, {"wrong": f"GET {path} returned other bytes than were uploaded"})

    def bundle(self):
        """A zip of two acknowledged files, downloaded whole: its members must be the files."""
        with LOCK:
            if len(self.files) < 2:
                return
            picked = self.rng.sample(self.files, 2)
        answer = request(
            self.args.url, "POST", "/v1/bundles", self.args.token,
            json.dumps({"file_ids": [f for f, _ in picked], "name": "load.zip"}).encode(),
            {"Content-Type": "application/json"},
        )
        if not answer or answer[0] != 201:
            return
        bundle = json.loads(answer[2])
        content = request(self.args.url, "GET", f"/v1/bundles/{bundle['id']}/content", self.args.token)
        if not content or content[0] != 200:
            return
        import io
        import zipfile

        try:
            with zipfile.ZipFile(io.BytesIO(content[2])) as z:
                digests = sorted(hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist())
        except zipfile.BadZipFile:
            digests = None
        if digests != sorted(d for _, d in picked):
            record(self.args.state, {"wrong": f"bundle {bundle['id']} does not hold its files"})

    def issue_link(self):
        picked = self.pick_file()
        if not picked:
            return
        limit = self.rng.choice([1, 2, 3])
        answer = request(
            self.args.url, "POST", f"/v1/files/{picked[0]}/links", self.args.token,
            json.dumps({"max_downloads": limit}).encode(), {"Content-Type": "application/json"},
        )
        if answer and answer[0] == 201:
            link = json.loads(answer[2])
            path = urllib.parse.urlsplit(link["url"]).path
            with LOCK:
                self.links.append((link["id"], path, limit, picked[1]))
            record(self.args.state, {"link": link["id"], "file": picked[0], "limit": limit})

    def use_link(self):
        with LOCK:
            if not self.links:
                return
            link_id, path, limit, digest = self.rng.choice(self.links)
        client = f"load-client-{self.rng.randrange(1 << 30)}"
        started = time.time()
        answer = request(self.args.url, "GET", path, headers={"User-Agent": client})
        if not answer:
            return
        if answer[0] == 200:
            if hashlib.sha256(answer[2]).hexdigest() != digest:
                record(self.args.state, {"wrong": f"link {link_id} served other bytes"})
            record(self.args.state, {"link_ok": link_id, "client": client, "started": started})

    def revoke(self):
        with LOCK:
            candidates = [l for l in self.links if l[0] not in self.revoked]
            if not candidates:
                return
            link_id = self.rng.choice(candidates)[0]
        answer = request(self.args.url, "DELETE", f"/v1/links/{link_id}", self.args.token)
        if answer and answer[0] == 204:
            with LOCK:
                self.revoked[link_id] = time.time()
            record(self.args.state, {"revoked": link_id})

    def worker(self, deadline):
        actions = [self.upload] * 3 + [self.download] * 4 + [self.issue_link] * 2 + [self.use_link] * 4 + [
            self.revoke,
            self.bundle,
        ]
        while time.time() < deadline:
            try:
                self.rng.choice(actions)()
            except Exception as error:  # a bug in the load itself must show, not hide
                record(self.args.state, {"load_error": repr(error)})
            time.sleep(0.005)


def run(args):
    load = Load(args)
    deadline = time.time() + args.seconds
    threads = [threading.Thread(target=load.worker, args=(deadline,)) for _ in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"files": len(load.files), "links": len(load.links), "revoked": len(load.revoked)}))


def settled(url, method, path, token):
    """`verify` asks a server that has just been restarted under load: a missing answer, a 502 of
    the proxy in front or a 503 is asked again (bounded: 20 times, a second apart)."""
    for _ in range(20):
        answer = request(url, method, path, token)
        if answer and answer[0] not in (502, 503, 504):
            return answer
        time.sleep(1)
    return answer


def verify(args):
    entries = [json.loads(line) for line in open(args.state)]
    problems = [e["wrong"] for e in entries if "wrong" in e] + [e["load_error"] for e in entries if "load_error" in e]
    acked = {e["ack"]: e["sha256"] for e in entries if "ack" in e}
    for file_id, digest in acked.items():
        info = settled(args.url, "GET", f"/v1/files/{file_id}", args.token)
        content = settled(args.url, "GET", f"/v1/files/{file_id}/content", args.token)
        if not info or info[0] != 200:
            problems.append(f"acknowledged upload {file_id} is gone ({info and info[0]})")
            continue
        if json.loads(info[2]).get("sha256") != digest:
            problems.append(f"acknowledged upload {file_id} has another SHA-256")
        if not content or content[0] != 200 or hashlib.sha256(content[2]).hexdigest() != digest:
            problems.append(f"acknowledged upload {file_id} serves other bytes")
    listed, cursor = [], None
    while True:
        page = settled(args.url, "GET", "/v1/files?limit=200" + (f"&cursor={cursor}" if cursor else ""), args.token)
        if not page or page[0] != 200:
            problems.append(f"the file listing failed: {page and page[0]}")
            break
        body = json.loads(page[2])
        listed += body["files"]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    for f in listed:
        content = settled(args.url, "GET", f"/v1/files/{f['id']}/content", args.token)
        if not content or content[0] != 200 or hashlib.sha256(content[2]).hexdigest() != f["sha256"]:
            problems.append(f"listed file {f['id']} does not serve bytes of its SHA-256 (a partial file?)")
    limits = {e["link"]: (e["limit"], e["file"]) for e in entries if "link" in e}
    served = {}
    for e in entries:
        if "link_ok" in e:
            served.setdefault(e["link_ok"], set()).add(e["client"])
    revoked_at = {e["revoked"]: e["at"] for e in entries if "revoked" in e}
    for link_id, (limit, file_id) in limits.items():
        if len(served.get(link_id, ())) > limit:
            problems.append(f"link {link_id} served {len(served[link_id])} clients, limit {limit}")
    for e in entries:
        if "link_ok" in e and e["link_ok"] in revoked_at and e["started"] > revoked_at[e["link_ok"]]:
            problems.append(f"link {e['link_ok']} served a request begun after its revocation was acknowledged")
    for file_id in {f for _, f in limits.values()}:
        answer = settled(args.url, "GET", f"/v1/files/{file_id}/links", args.token)
        if not answer or answer[0] != 200:
            continue
        for link in json.loads(answer[2])["links"]:
            if link.get("max_downloads") is not None and link["downloads_used"] > link["max_downloads"]:
                problems.append(f"link {link['id']}: the catalog counts {link['downloads_used']} of {link['max_downloads']}")
    print(json.dumps({
        "acknowledged": len(acked), "listed": len(listed), "links": len(limits),
        "link_downloads": sum(len(v) for v in served.values()), "revoked": len(revoked_at),
        "problems": problems[:20], "problem_count": len(problems),
    }))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["run", "verify"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    run(args) if args.mode == "run" else verify(args)
