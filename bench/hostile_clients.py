#!/usr/bin/env python3
"""What hostile or unlucky clients do to `cdc-guard serve` (issue 9).

Starts the binary given with --binary on a copy of examples/registry.yaml with
a certificate made here, runs one scenario against a fresh server each time,
and prints what it saw: the server's peak and final RSS, latencies of the
probes and admissions that ran meanwhile, and lost requests.

  python3 bench/hostile_clients.py --binary build/cdc-guard            # every scenario
  python3 bench/hostile_clients.py --binary build/cdc-guard nested     # one
  python3 bench/hostile_clients.py --binary OLD --old ...              # a binary without the new flags

Scenarios: chunked, nested, slowloris, idle, sigterm (see bench/README.md).
Standard library only; `openssl` on the PATH.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fixture(name):
    with open(os.path.join(ROOT, "tests", "fixtures", "admission", name)) as f:
        return json.load(f)


class Server:
    def __init__(self, binary, workdir, old, extra=()):
        self.workdir = workdir
        shutil.copy(os.path.join(ROOT, "examples", "registry.yaml"), os.path.join(workdir, "registry.yaml"))
        args = [binary, "serve", "--tls-cert", os.path.join(workdir, "tls.crt"), "--tls-key",
                os.path.join(workdir, "tls.key"), "--registry-file", os.path.join(workdir, "registry.yaml"),
                "--port", "0", "--metrics-port", "0", "--address", "127.0.0.1", "--log-level", "warn",
                "--log-format", "json"]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline and self.port is None:
            self.port = listening_port(self.proc.pid)
            time.sleep(0.02)
        if self.port is None:
            raise RuntimeError("the server did not start")
        self.ctx = ssl.create_default_context(cafile=os.path.join(workdir, "ca.crt"))
        self.ctx.check_hostname = False

    def status(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) // 1024  # MiB
        return 0

    def connect(self, timeout=10):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.ctx.wrap_socket(raw, server_hostname="127.0.0.1")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def listening_port(pid):
    inodes = []
    try:
        for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.append(target[8:-1])
    except OSError:
        return None
    listening = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[3] == "0A":
                listening[fields[9]] = int(fields[1].split(":")[1], 16)
    for inode in inodes:
        if inode in listening:
            return listening[inode]
    return None


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, {}, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, headers, rest
        rest += chunk
    return status, headers, rest[:length]


def post(path, body):
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def timed(server, request, timeout=10):
    """One request on a new connection: (status, seconds), status 0 on failure."""
    started = time.monotonic()
    try:
        with server.connect(timeout) as s:
            s.sendall(request)
            status, _, _ = read_response(s)
    except OSError:
        status = 0
    return status, time.monotonic() - started


class Prober(threading.Thread):
    """Calls /healthz, /readyz and /validate every 200 ms while an attack runs."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.stop = threading.Event()
        self.results = {"healthz": [], "readyz": [], "validate": []}
        self.review = post("/validate", json.dumps(fixture("create-registered-id.json")).encode())

    def run(self):
        while not self.stop.is_set():
            for name, req in (("healthz", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
                              ("readyz", b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"),
                              ("validate", self.review)):
                self.results[name].append(timed(self.server, req, timeout=10))
            self.stop.wait(0.2)

    def report(self):
        out = {}
        for name, rs in self.results.items():
            ok = [t for s, t in rs if s == 200]
            out[name] = {"calls": len(rs), "failed": len(rs) - len(ok),
                         "max_ms": round(max(ok) * 1000, 1) if ok else None,
                         "median_ms": round(sorted(ok)[len(ok) // 2] * 1000, 1) if ok else None}
        return out


def scenario_chunked(server):
    """One 256 MiB chunked upload to /validate (the limit is 4 MiB)."""
    base = server.status("VmRSS")
    s = server.connect(30)
    s.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    piece = b"10000\r\n" + b" " * 65536 + b"\r\n"
    sent = 0
    planned = 256 * 1024 * 1024
    started = time.monotonic()
    try:
        while sent < planned:
            s.sendall(piece)
            sent += 65536
        s.sendall(b"0\r\n\r\n")
    except OSError:
        pass
    try:
        status, _, _ = read_response(s)
    except OSError:
        status = "reset"
    return {"rss_before_mib": base, "peak_rss_mib": server.status("VmHWM"), "body_bytes_sent": sent,
            "status": status, "seconds": round(time.monotonic() - started, 2)}


def nested_body(size):
    review = fixture("create-registered-id.json")
    review["request"]["object"]["spec"]["config"]["x"] = "FILLER"
    text = json.dumps(review, separators=(",", ":"))
    filler_len = size - (len(text) - len('"FILLER"'))
    n = (filler_len - 2) // 3
    filler = "[" + ",".join(["{}"] * n) + "]"
    return text.replace('"FILLER"', filler).encode()


def scenario_nested(server):
    """8 concurrent bodies of 4,186,524 bytes of `[{},{},...]` inside spec.config."""
    body = nested_body(4186524)
    base = server.status("VmRSS")
    results = []

    def one():
        status, seconds = timed(server, post("/validate", body), timeout=60)
        results.append((status, seconds))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(1)
    return {"body_bytes": len(body), "rss_before_mib": base, "peak_rss_mib": server.status("VmHWM"),
            "rss_after_mib": server.status("VmRSS"), "statuses": sorted(s for s, _ in results),
            "max_seconds": round(max(t for _, t in results), 3)}


def scenario_slowloris(server, seconds=15):
    """25 connections sending one header byte a second; probes meanwhile."""
    conns = [server.connect(30) for _ in range(25)]
    head = b"POST /validate HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    prober = Prober(server)
    prober.start()
    cut_after = [None] * len(conns)
    started = time.monotonic()
    for i in range(seconds):
        for k, c in enumerate(conns):
            if cut_after[k] is not None:
                continue
            try:
                c.sendall(head[i:i + 1])
            except OSError:
                cut_after[k] = round(time.monotonic() - started, 1)
        time.sleep(1)
    prober.stop.set()
    prober.join()
    still_open = sum(1 for x in cut_after if x is None)
    for c in conns:
        c.close()
    return {"probes": prober.report(), "slow_connections_cut": len(conns) - still_open,
            "cut_after_seconds": sorted(x for x in cut_after if x is not None)[:3]}


def scenario_idle(server):
    """500 idle connections held open (reopened when the server closes one), then 372 handshakes."""
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(500)]
    stop = threading.Event()

    def keep_holding():
        while not stop.is_set():
            for i, h in enumerate(held):
                h.setblocking(False)
                try:
                    closed = h.recv(1) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    h.close()
                    try:
                        held[i] = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                    except OSError:
                        pass
            stop.wait(0.1)

    holder = threading.Thread(target=keep_holding, daemon=True)
    holder.start()
    prober = Prober(server)
    prober.start()
    failed = 0
    attempted = 0
    slowest = 0.0
    started_all = time.monotonic()
    for _ in range(372):
        if time.monotonic() - started_all > 60:
            break  # a server that makes each one wait for its 5 s timeout would take half an hour
        attempted += 1
        started = time.monotonic()
        try:
            server.connect(timeout=5).close()
        except OSError:
            failed += 1
        slowest = max(slowest, time.monotonic() - started)
    elapsed = time.monotonic() - started_all
    prober.stop.set()
    prober.join()
    stop.set()
    holder.join()
    for h in held:
        h.close()
    return {"handshakes": attempted, "handshakes_failed": failed, "slowest_handshake_ms": round(slowest * 1000, 1),
            "handshakes_seconds": round(elapsed, 1), "probes": prober.report()}


def scenario_sigterm(server):
    """8 kept-alive clients; SIGTERM; count requests written whole and never answered."""
    request = post("/validate", json.dumps(fixture("create-registered-id.json")).encode())
    counts = {"answered": 0, "lost": 0, "told_to_close": 0, "refused": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                s = server.connect(timeout=30)
            except OSError:
                with lock:
                    counts["refused"] += 1
                return
            with s:
                while True:
                    try:
                        s.sendall(request)
                    except OSError:
                        break
                    try:
                        status, headers, _ = read_response(s)
                    except OSError:
                        status, headers = 0, {}
                    with lock:
                        if status != 200:
                            counts["lost"] += 1
                            return
                        counts["answered"] += 1
                        if headers.get("connection") == "close":
                            counts["told_to_close"] += 1
                    if headers.get("connection") == "close":
                        break

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(1)
    signalled = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(60)
    exited = time.monotonic() - signalled
    stop.set()
    for t in threads:
        t.join()
    return dict(counts, exit_seconds=round(exited, 2), exit_code=server.proc.returncode)


SCENARIOS = {"chunked": scenario_chunked, "nested": scenario_nested, "slowloris": scenario_slowloris,
             "idle": scenario_idle, "sigterm": scenario_sigterm}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "cdc-guard"))
    parser.add_argument("--old", action="store_true", help="the binary predates the shutdown flags")
    parser.add_argument("--threads", help="--threads for the server (default: its own)")
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="cdcguard-hostile-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", os.path.join(workdir, "tls.key"),
                    "-out", os.path.join(workdir, "tls.crt")], check=True, capture_output=True)
    shutil.copy(os.path.join(workdir, "tls.crt"), os.path.join(workdir, "ca.crt"))
    results = {}
    for name in args.scenarios:
        extra = [] if args.old else (["--shutdown-delay", "2"] if name == "sigterm" else [])
        if args.threads:
            extra += ["--threads", args.threads]
        server = Server(args.binary, workdir, args.old, extra)
        try:
            results[name] = SCENARIOS[name](server)
        finally:
            server.stop()
        print(json.dumps({name: results[name]}), flush=True)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
