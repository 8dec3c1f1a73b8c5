#!/usr/bin/env python3
"""The benchmark suite: roundtrip beside a raw Beast client, Go net/http, libcurl and cpp-httplib.

Starts a private nginx (own prefix in a temp dir, loopback, one worker, keep-alive; TLS 1.3 with a
certificate made for the run, session tickets and cache off so every new connection is a full
handshake), runs every client in every scenario for several rounds (the clients' order rotates each
round), and prints a table of medians: client CPU per request and its ratio to raw Beast, requests/s,
p50/p99, max RSS. Then the memory an idle kept-alive connection holds (1000 opened at once and held
idle, http and https), and under callgrind, user-space instructions per request (marginal: the
difference between two run lengths); heap allocations per request come from the clients that count
them. When Debian's tinyproxy is installed, roundtrip's cost for a new TLS connection each request
through a CONNECT tunnel beside the same connections made directly. Writes every figure as JSON.

    bench/suite.py --build build-release [--rounds 3] [--scale 1.0] [--json out.json]

`./dev bench` builds what it needs and runs this. `--smoke` runs each client once per scenario with
a few requests and checks that every request got a 200; the test suite runs that.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (name, path, concurrency, requests at scale 1, new connection each, https)
SCENARIOS = [
    ("13 B keep-alive, c=1", "/small", 1, 20000, False, False),
    ("13 B keep-alive, c=32", "/small", 32, 60000, False, False),
    ("64 KiB keep-alive, c=8", "/64k", 8, 20000, False, False),
    ("new connection each, c=8", "/small", 8, 6000, True, False),
    ("TLS keep-alive, c=8", "/small", 8, 30000, False, True),
    ("TLS new connection (full handshake), c=4", "/small", 4, 1500, True, True),
]

# The realistic stack: headers + retry + logging that prints nothing + tracing unsampled + one
# client observer.
STACK = ["--middleware", "headers", "--middleware", "retry", "--middleware", "logging-off",
         "--middleware", "tracing-unsampled", "--client-observer"]


def clients(build: Path, go_binary: Path, before: Path | None = None):
    """Each client: name -> the command before the load flags. With `before` (the build directory
    of an earlier version), that version's roundtrip clients too, measured in the same rounds."""
    b = build / "bench"
    all_clients = {
        "beast": [str(b / "beast-client")],
        "roundtrip": [str(b / "roundtrip-bench")],
        "roundtrip+stack": [str(b / "roundtrip-bench")] + STACK,
        "roundtrip+metrics": [str(b / "roundtrip-bench"), "--metrics"],
        "go": [str(go_binary)],
        "curl": [str(b / "curl-client")],
        "httplib": [str(b / "httplib-client")],
    }
    if before:
        all_clients["roundtrip-before"] = [str(before / "bench" / "roundtrip-bench")]
        all_clients["roundtrip+stack-before"] = [str(before / "bench" / "roundtrip-bench")] + STACK
    return all_clients


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """A private nginx on two loopback ports, http and https; stopped by its PID."""

    def __init__(self, work: Path):
        self.work = work
        self.http_port = free_port()
        self.https_port = free_port()
        (work / "logs").mkdir(parents=True)
        (work / "html").mkdir()
        (work / "html" / "64k").write_bytes(b"x" * 65536)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-days", "2", "-keyout", str(work / "key.pem"), "-out", str(work / "cert.pem")],
                       check=True, capture_output=True)
        (work / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
master_process off;
pid {work}/nginx.pid;
error_log {work}/logs/error.log warn;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    gzip off;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_temp_path {work}/tmp;
    proxy_temp_path {work}/tmp;
    fastcgi_temp_path {work}/tmp;
    default_type application/octet-stream;
    ssl_protocols TLSv1.3;
    ssl_session_tickets off;
    ssl_session_cache off;
    server {{
        listen 127.0.0.1:{self.http_port} reuseport;
        listen 127.0.0.1:{self.https_port} ssl;
        ssl_certificate {work}/cert.pem;
        ssl_certificate_key {work}/key.pem;
        root {work}/html;
        location = /small {{ return 200 "hello, world\\n"; }}
        location = /64k {{ }}
    }}
}}
""")
        (work / "tmp").mkdir()
        self.proc = subprocess.Popen(["nginx", "-p", str(work), "-c", str(work / "nginx.conf"), "-e",
                                      str(work / "logs" / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        for port in (self.http_port, self.https_port):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        log = (work / "logs" / "error.log").read_text(errors="replace")
                        raise SystemExit(f"suite: nginx did not start: {log.strip()}")
                    time.sleep(0.05)

    def url(self, path: str, tls: bool) -> str:
        return f"https://127.0.0.1:{self.https_port}{path}" if tls else f"http://127.0.0.1:{self.http_port}{path}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Tinyproxy:
    """Debian's tinyproxy on a loopback port, in the foreground; stopped by its PID."""

    def __init__(self, work: Path):
        self.port = free_port()
        conf = work / "tinyproxy.conf"
        conf.write_text(f"Port {self.port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 64\nAllow 127.0.0.1\n"
                        "DisableViaHeader Yes\nLogLevel Critical\n")
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise SystemExit("suite: tinyproxy did not start")

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def tunnel_cost(command, server, proxy, rounds, requests, callgrind):
    """roundtrip's own CPU for a new TLS connection each request, direct and through a CONNECT tunnel
    (tinyproxy): medians of CPU µs per request over the rounds, interleaved, and under callgrind the
    marginal instructions per request."""
    url = server.url("/small", True)
    through = command + ["--proxy", proxy.url()]
    cpu = {"direct": [], "tunnel": []}
    for _ in range(rounds):
        for name, cmd in (("direct", command), ("tunnel", through)):
            f = run_client(cmd, url, 4, requests, True, True)
            if f["errors"]:
                raise SystemExit(f"suite: the {name} TLS run had {f['errors']} errors")
            cpu[name].append(f["cpu_us_per_req"])
    out = {name: {"cpu_us_per_req": statistics.median(v)} for name, v in cpu.items()}
    if callgrind:
        for name, cmd in (("direct", command), ("tunnel", through)):
            out[name]["instructions_per_req"] = instructions_per_request(cmd + ["--new-conn", "--insecure"], url, 100)
    return out


def run_client(command, url, concurrency, requests, new_conn, tls, timeout=300):
    """Runs one client; returns its JSON figures."""
    argv = command + ["--url", url, "--concurrency", str(concurrency), "--requests", str(requests)]
    if new_conn:
        argv.append("--new-conn")
    if tls:
        argv.append("--insecure")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise SystemExit(f"suite: {' '.join(argv)} ran past {timeout} s")
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace").strip()
        if status != 0 or not text:
            raise SystemExit(f"suite: {' '.join(argv)} failed: {err.read().decode(errors='replace').strip()}")
    return json.loads(text.splitlines()[-1])


def callgrind_instructions(command, url, requests):
    """User-space instructions of one whole run of `command` under callgrind."""
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + command + [
        "--url", url, "--concurrency", "1", "--requests", str(requests)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    for line in p.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split("Collected :")[1].strip())
    raise SystemExit(f"suite: callgrind gave no count for {' '.join(argv)}: {p.stderr[-400:]}")


def instructions_per_request(command, url, n):
    """Marginal instructions per request: runs of n and 2n requests (each with its warm-up of n/10,
    at most 1000), the difference divided by the requests it adds. Start-up cancels out."""
    def total(k):
        return k + min(k // 10, 1000)
    small = callgrind_instructions(command, url, n)
    large = callgrind_instructions(command, url, 2 * n)
    return (large - small) / (total(2 * n) - total(n))


def fmt(v, digits=1):
    return "—" if v is None else f"{v:,.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", type=Path, default=Path("build-release"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every scenario's request count")
    ap.add_argument("--json", type=Path, help="where to write every figure")
    ap.add_argument("--clients", help="comma-separated subset of the clients")
    ap.add_argument("--before", type=Path, help="build directory of an earlier version: adds its roundtrip "
                    "clients (roundtrip-before, roundtrip+stack-before) to the same rounds")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="one short round; fails unless every request got a 200")
    args = ap.parse_args()
    if args.smoke:
        args.rounds, args.scale, args.no_callgrind = 1, 0.01, True

    for tool in ["nginx", "openssl", "go"] + ([] if args.no_callgrind else ["valgrind"]):
        if not shutil.which(tool):
            raise SystemExit(f"suite: {tool} is not installed (./dev bench installs it)")
    work = Path(tempfile.mkdtemp(prefix="roundtrip-bench-"))
    try:
        go_binary = work / "go-client"
        env = dict(os.environ, GOCACHE=str(args.build.resolve() / "go-cache"), GO111MODULE="off")
        subprocess.run(["go", "build", "-o", str(go_binary), str(HERE / "clients" / "go" / "main.go")],
                       check=True, env=env)
        all_clients = clients(args.build, go_binary, args.before)
        names = args.clients.split(",") if args.clients else list(all_clients)
        for n in names:
            if n not in all_clients:
                raise SystemExit(f"suite: unknown client '{n}' (known: {', '.join(all_clients)})")
            if not Path(all_clients[n][0]).exists():
                raise SystemExit(f"suite: {all_clients[n][0]} is not built")
        server = Nginx(work / "nginx")
        try:
            runs = {}
            for r in range(args.rounds):
                for scenario in SCENARIOS:
                    name, path, c, n, new_conn, tls = scenario
                    n = max(int(n * args.scale), 2 * c)
                    order = names[r % len(names):] + names[:r % len(names)]
                    for client in order:
                        f = run_client(all_clients[client], server.url(path, tls), c, n, new_conn, tls)
                        runs.setdefault((name, client), []).append(f)
                        print(f"round {r + 1} | {name} | {client}: {f['cpu_us_per_req']:.1f} µs/req, "
                              f"{f['rps']:.0f} req/s, errors {f['errors']}", file=sys.stderr)
            idle_memory = {}
            for tls in (False, True):
                command = all_clients["roundtrip"] + ["--url", server.url("/small", tls), "--idle-probe",
                                                      "50" if args.smoke else "1000"] + (["--insecure"] if tls else [])
                p = subprocess.run(command, capture_output=True, text=True, timeout=300)
                if p.returncode != 0:
                    raise SystemExit(f"suite: idle probe failed: {p.stderr.strip()} {p.stdout.strip()}")
                idle_memory["https" if tls else "http"] = json.loads(p.stdout.strip().splitlines()[-1])
                print(f"idle probe | {'https' if tls else 'http'}: {p.stdout.strip()}", file=sys.stderr)
            tunnel = None
            if shutil.which("tinyproxy") and "roundtrip" in names:
                proxy = Tinyproxy(work)
                try:
                    tunnel = tunnel_cost(all_clients["roundtrip"], server, proxy, args.rounds,
                                         max(20, int(1500 * args.scale)), not args.no_callgrind)
                finally:
                    proxy.stop()
                print(f"tunnel | {tunnel}", file=sys.stderr)
            instructions = {}
            if not args.no_callgrind:
                url = server.url("/small", False)
                measured = ("beast", "roundtrip", "roundtrip+stack", "roundtrip+metrics", "roundtrip-before",
                            "roundtrip+stack-before")
                for client in [c for c in measured if c in names]:
                    instructions[client] = instructions_per_request(all_clients[client], url, 2000)
                    print(f"callgrind | {client}: {instructions[client]:,.0f} instructions/req", file=sys.stderr)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    failed = [f"{k[0]} / {k[1]}" for k, fs in runs.items() if any(f["errors"] for f in fs)]
    summary = {"scenarios": [], "instructions_per_request": instructions, "idle_memory": idle_memory,
               "connect_tunnel": tunnel}
    print("| scenario | client | CPU µs/req | × beast | req/s | p50 µs | p99 µs | max RSS MiB | allocs/req | conns opened |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        name = scenario[0]
        base = statistics.median(f["cpu_us_per_req"] for f in runs[(name, "beast")]) if (name, "beast") in runs else None
        for client in names:
            fs = runs[(name, client)]
            med = {k: statistics.median(f[k] for f in fs) for k in ("cpu_us_per_req", "rps", "p50_us", "p99_us", "max_rss_kb")}
            allocs = fs[0]["allocs_per_req"]
            if allocs is not None:
                allocs = statistics.median(f["allocs_per_req"] for f in fs)
            ratio = med["cpu_us_per_req"] / base if base else None
            opened = fs[0]["conns_opened"]
            if opened is not None:
                opened = statistics.median(f["conns_opened"] for f in fs)
            summary["scenarios"].append({"scenario": name, "client": client, "rounds": fs, "median": med,
                                         "ratio_to_beast": ratio, "allocs_per_req": allocs})
            print(f"| {name} | {client} | {fmt(med['cpu_us_per_req'])} | {fmt(ratio, 2)} | {fmt(med['rps'], 0)} "
                  f"| {fmt(med['p50_us'])} | {fmt(med['p99_us'])} | {fmt(med['max_rss_kb'] / 1024)} "
                  f"| {fmt(allocs)} | {opened if opened is not None else '—'} |")
    if instructions:
        print()
        print("| client (13 B keep-alive, c=1, callgrind) | instructions/req | × beast |")
        print("|---|---|---|")
        for client, v in instructions.items():
            ratio = v / instructions["beast"] if "beast" in instructions else None
            print(f"| {client} | {v:,.0f} | {fmt(ratio, 2)} |")
    if tunnel:
        print()
        print("| roundtrip, TLS new connection each, c=4 | CPU µs/req | × direct | instructions/req (callgrind, c=1) | × direct |")
        print("|---|---|---|---|---|")
        for name in ("direct", "tunnel"):
            t, d = tunnel[name], tunnel["direct"]
            i, di = t.get("instructions_per_req"), d.get("instructions_per_req")
            print(f"| {'direct' if name == 'direct' else 'through tinyproxy (CONNECT)'} | {fmt(t['cpu_us_per_req'])} "
                  f"| {fmt(t['cpu_us_per_req'] / d['cpu_us_per_req'], 2)} | {fmt(i, 0)} "
                  f"| {fmt(i / di if i and di else None, 2)} |")
    print()
    print("| idle kept-alive connections, opened at once | heap KiB per connection | resident KiB per connection |")
    print("|---|---|---|")
    for scheme, m in idle_memory.items():
        print(f"| roundtrip, {scheme}, {m['connections']} | {m['heap_kib_per_idle_conn']:.1f} "
              f"| {m['rss_kib_per_idle_conn']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    if failed:
        print(f"suite: requests failed in: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
