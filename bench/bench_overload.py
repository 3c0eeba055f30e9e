"""Reads while ingest is saturated (issue 12, item 4): the dashboard must stay usable when the
write path is overloaded, and the server must not grow without bound.

A server is filled with production-shaped traffic (``bench.bench_ingest``: distinct texts,
random ids, 15-20 tags a call) spread over the last hour. Then, with no other load, a
reader opens the Overview the way the browser does (its seven requests at once: hourly and
whole-window metrics for this and the previous 24 h, the UX summary three ways, anomalies)
plus the latest-calls list, once every half second: the idle p99. Then, for each load shape
of ``--loads`` in turn (``P x T``: P sender processes of T threads), the senders post
gzipped bodies as fast as the server takes them (half SDK-shaped JSON batches of 1,000
calls, half OTLP protobuf exports of 512 spans; on 429/503 a sender waits at most 0.25 s,
shorter than Retry-After: an overload, not a polite client) for ``--overload-s`` while the
reader goes on: the overload p99. Every body is sent once (no repeated ids). The RSS of the
server and its helper processes (summed VmRSS of the process tree) is sampled every 0.2 s.

- ``read_p99_under_overload_ms`` (target ≤ 500): p99 over every read request of the first
  load shape (2 x 16 by default: 32 requests always waiting, the server's ingest at its
  maximum); per endpoint, the idle p99, what ingest achieved meanwhile, and the other load
  shapes (4 x 24, the shape of issue 12's report) in ``detail``.
- ``rss_under_overload_mb`` (target ≤ 1,500): the peak of the sampled tree RSS, same load.
The load generator and the reader share the machine's cores with the server: on a 2-core
machine the 96 sender threads of 4 x 24 take CPU from the reader too.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import itertools
import multiprocessing as mp
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from bench._common import READ_KEY, WRITE_KEY, Server, record, start_server, tree_rss_mb
from bench.bench_ingest import calls, json_bodies, otlp_bodies

METRICS = "count,error_rate,latency_p50,latency_p95,ttft_p95,input_tokens,output_tokens,cost_usd"
JSON_BATCH, OTLP_BATCH = 1000, 512


def overview(end: float) -> list[str]:
    """The Overview's requests for the last 24 h (pages/overview.js), and the latest calls."""
    start, span = end - 86_400, 86_400
    cur, prev = f"&start={start:.0f}&end={end:.0f}", f"&start={start - span:.0f}&end={start:.0f}"
    return [
        f"/v1/metrics?bucket=hour&metrics={METRICS}{cur}",
        f"/v1/metrics?bucket=all&metrics={METRICS}{cur}",
        f"/v1/metrics?bucket=all&metrics={METRICS}{prev}",
        f"/v1/ux/summary?bucket=hour{cur}",
        f"/v1/ux/summary?bucket=all{cur}",
        f"/v1/ux/summary?bucket=all{prev}",
        f"/v1/anomalies?start={start:.0f}&end={end:.0f}",
        "/v1/interactions?limit=50",
    ]


class Reader:
    """Opens the Overview every ``period`` seconds; keeps each request's latency by endpoint."""

    def __init__(self, url: str, period: float = 0.5) -> None:
        self.url, self.period = url, period
        self.latencies: dict[str, list[float]] = {}
        self.failures: Counter[int] = Counter()
        self.stop = threading.Event()

    def _get(self, client: httpx.Client, path: str) -> None:
        started = time.perf_counter()
        response = client.get(self.url + path, headers={"Authorization": f"Bearer {READ_KEY}"})
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            self.failures[response.status_code] += 1
        self.latencies.setdefault(path.split("?")[0] + ("?bucket=hour" if "bucket=hour" in path else ""), []).append(elapsed)

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with httpx.Client(timeout=60) as client, cf.ThreadPoolExecutor(8) as pool:
            while time.monotonic() < deadline and not self.stop.is_set():
                began = time.monotonic()
                list(pool.map(lambda path: self._get(client, path), overview(time.time())))
                time.sleep(max(0.0, self.period - (time.monotonic() - began)))

    def all(self) -> list[float]:
        return [ms for values in self.latencies.values() for ms in values]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) >= 2 else (values or [0.0])[0]


def _sender(url: str, bodies: list[tuple[str, bytes, str]], threads: int, deadline: float, out: Any) -> None:
    """One load process: ``threads`` threads post the bodies until they run out or time is up."""
    lock = threading.Lock()
    statuses: Counter[int] = Counter()
    accepted = [0]
    position = [0]

    def worker() -> None:
        with httpx.Client(timeout=120) as client:
            while time.monotonic() < deadline:
                with lock:
                    if position[0] >= len(bodies):
                        return
                    path, body, content_type = bodies[position[0]]
                    position[0] += 1
                while time.monotonic() < deadline:
                    headers = {"Authorization": f"Bearer {WRITE_KEY}", "Content-Type": content_type, "Content-Encoding": "gzip"}
                    try:
                        response = client.post(url + path, content=body, headers=headers)
                    except httpx.HTTPError:
                        statuses[0] += 1
                        time.sleep(0.1)
                        continue
                    with lock:
                        statuses[response.status_code] += 1
                    if response.status_code in (429, 503):
                        time.sleep(min(0.25, float(response.headers.get("retry-after", "1"))))
                        continue
                    if response.status_code == 200:
                        with lock:
                            accepted[0] += JSON_BATCH if path == "/v1/interactions" else OTLP_BATCH
                    break

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put((dict(statuses), accepted[0]))


@dataclass
class Phase:
    """One load shape's overload run against the filled server."""

    procs: int
    threads: int
    reads: Reader
    statuses: Counter[int]
    accepted_per_s: float
    stored: int
    rss_peak_mb: float
    server_peak_mb: float

    def summary(self, idle: Reader) -> dict[str, Any]:
        return {
            "load": f"{self.procs} processes x {self.threads} threads",
            "read_p99_ms": round(p99(self.reads.all()), 1),
            "endpoints": {
                name: {"idle_p99_ms": round(p99(idle.latencies.get(name, [])), 1), "overload_p99_ms": round(p99(values), 1), "n": len(values)}
                for name, values in self.reads.latencies.items()
            },
            "read_failures": dict(self.reads.failures),
            "ingest_statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "ingest_accepted_per_s": round(self.accepted_per_s),
            "stored_during_overload": self.stored,
            "rss_peak_mb": round(self.rss_peak_mb),
            "server_process_peak_mb": round(self.server_peak_mb),
        }


def overload(server: Server, load: list[tuple[str, bytes, str]], procs: int, threads: int, seconds: float) -> Phase:
    """Flood ingest with ``procs`` x ``threads`` senders for ``seconds`` while the reader opens the Overview."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    deadline = time.monotonic() + seconds
    senders = [ctx.Process(target=_sender, args=(server.url, load[i::procs], threads, deadline, out)) for i in range(procs)]
    stored_before = server.stored()
    for proc in senders:
        proc.start()
    time.sleep(3)  # let the backlog fill before the first read is timed
    reads = Reader(server.url)
    peak, peak_server = [0.0], [0.0]

    def sample() -> None:
        while not reads.stop.is_set():
            tree = tree_rss_mb(server.proc.pid)
            peak[0] = max(peak[0], sum(tree.values()))
            peak_server[0] = max(peak_server[0], tree.get(server.proc.pid, 0.0))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    reads.run(max(1.0, deadline - time.monotonic()))
    reads.stop.set()
    sampler.join()
    results = [out.get(timeout=300) for _ in senders]
    for proc in senders:
        proc.join(60)
    statuses: Counter[int] = Counter()
    for counts, _ in results:
        statuses.update(counts)
    accepted = sum(n for _, n in results)
    return Phase(procs, threads, reads, statuses, accepted / seconds, server.stored() - stored_before, peak[0], peak_server[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fill", type=int, default=100_000, help="calls stored before the reads start")
    parser.add_argument("--load", type=int, default=400_000, help="calls available to the overload phases")
    parser.add_argument("--loads", default="2x16,4x24", help="sender processes x threads per phase; the first is the headline")
    parser.add_argument("--idle-s", type=float, default=15)
    parser.add_argument("--overload-s", type=float, default=40)
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE", help="a setting for the server (repeatable)")
    args = parser.parse_args()
    shapes = [tuple(int(x) for x in shape.split("x")) for shape in args.loads.split(",")]

    items = calls(args.fill + args.load, now=time.time())
    fill = json_bodies(items[: args.fill], JSON_BATCH)  # gzipped, as the SDK sends
    rest = items[args.fill :]
    half = len(rest) // 2
    json_load = [("/v1/interactions", b, "application/json") for b in json_bodies(rest[:half], JSON_BATCH)]
    otlp_load = [("/v1/traces", b, "application/x-protobuf") for b in otlp_bodies(rest[half:], OTLP_BATCH)]
    load = [body for pair in itertools.zip_longest(json_load, otlp_load) for body in pair if body is not None]
    del items, rest

    data = Path(tempfile.mkdtemp(prefix="heron-bench-overload-"))
    server = start_server(data / "data", dict(pair.split("=", 1) for pair in args.server_env))
    phases: list[Phase] = []
    try:
        with httpx.Client(timeout=120) as client:
            headers = {"Authorization": f"Bearer {WRITE_KEY}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
            for body in tqdm(fill, desc="filling", unit="batch"):
                while client.post(server.url + "/v1/interactions", content=body, headers=headers).status_code != 200:
                    time.sleep(0.5)
        server.wait_stored(args.fill)
        idle = Reader(server.url)
        idle.run(args.idle_s)
        rss_idle = sum(tree_rss_mb(server.proc.pid).values())
        used = 0
        for procs, threads in tqdm(shapes, desc="overload phases", unit="phase"):
            share = load[used : used + len(load) // len(shapes)]  # every body is sent once
            used += len(share)
            phases.append(overload(server, share, procs, threads, args.overload_s))
            server.wait_stored(server.stored(), timeout=5)
            time.sleep(10)  # drain the backlog between phases
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)

    head, others = phases[0], phases[1:]
    common = {"idle_p99_ms": round(p99(idle.all()), 1), "rss_idle_mb": round(rss_idle), "fill": args.fill,
              "bodies": f"{len(load)} (half JSON x{JSON_BATCH}, half OTLP x{OTLP_BATCH})", "server_env": args.server_env}  # fmt: skip
    detail = {**common, **head.summary(idle), "other_loads": [phase.summary(idle) for phase in others]}
    record("read_p99_under_overload_ms", p99(head.reads.all()), "ms", target="<= 500", detail=detail)
    record(
        "rss_under_overload_mb", head.rss_peak_mb, "MB", target="<= 1500",
        detail={**common, "load": head.summary(idle)["load"], "server_process_peak_mb": round(head.server_peak_mb),
                "other_loads": [{"load": p.summary(idle)["load"], "rss_peak_mb": round(p.rss_peak_mb)} for p in others]},
    )  # fmt: skip


if __name__ == "__main__":
    main()
