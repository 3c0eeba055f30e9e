"""Enrichment throughput, and what enrichment costs ingest.

1. ``enrich_per_s``: demo traffic (realistic texts, histories) is sent to a
   server with enrichment on; the figure is interactions divided by the time
   from the first request until every one is enriched (so it includes ingest,
   a lower bound on enrichment alone).
2. ``ingest_with_enrich_ratio``: the same traffic sent as fast as possible to a
   server with enrichment on and to one with it off (``HERON_ENRICH=0``); the
   ratio of their stored-and-queryable throughputs. Enrichment runs after the
   acknowledgement, in a lower-priority process, and pauses while ingest has a
   backlog, so the ratio should stay near 1.
3. ``enrich_worker_per_s``: the enrichment worker alone, in this process:
   ``BatchEnricher.run`` over batches of 2,000 turns of the same traffic, with
   a topic model fitted on the first 5,000 of its user messages (not timed)
   and the emerging-topic watch on. Each pass starts a fresh worker (cold
   caches and embedding memo; the wordllama model is already loaded); the
   best of ``--repeat`` passes is recorded, since other processes on a small
   machine only ever slow a pass down. ``--worker-only`` skips the servers.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import gzip
import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec

from bench._common import READ_KEY, WRITE_KEY, record, start_server
from heron.demo.generator import Scenario, generate
from heron.enrich.base import Turn
from heron.schema.records import Interaction

PROJECT = "bench"


def interactions(n: int, *, seed: int = 5) -> list[Interaction]:
    """``n`` interactions of a week of demo traffic, ending now."""
    now = time.time()
    scenario = Scenario(seed=seed, start=now - 7 * 86400, end=now - 60, users=3000, interactions_per_hour=n / (7 * 24) * 1.1)
    return [turn.interaction for turn in itertools.islice(generate(scenario), n)]


def bodies(items: list[Interaction], batch: int) -> list[bytes]:
    rows = [msgspec.to_builtins(item) for item in items]
    return [gzip.compress(msgspec.json.encode({"interactions": rows[k : k + batch]}), 1) for k in range(0, len(rows), batch)]


def _send(url: str, payloads: list[bytes], clients: int) -> None:
    headers = {"Authorization": f"Bearer {WRITE_KEY}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    with httpx.Client(timeout=120) as client:

        def post(body: bytes) -> None:
            while True:
                response = client.post(url + "/v1/interactions", content=body, headers=headers)
                if response.status_code in (429, 503):
                    time.sleep(float(response.headers.get("retry-after", "1")))
                    continue
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
                return

        with cf.ThreadPoolExecutor(clients) as pool:
            list(pool.map(post, payloads))


def run(warmup: list[bytes], payloads: list[bytes], n_warm: int, n: int, *, enrich: bool, clients: int = 4) -> tuple[float, float | None]:
    """(stored interactions/s, enriched interactions/s or None) for ``payloads``, after ``warmup`` is in.

    With enrichment on, the warm-up also gives the project its topic model (fitted
    by the server from the warm-up's messages, then backfilled), so the timed
    part runs every signal, topics and emerging-topic detection included.
    """
    data = Path(tempfile.mkdtemp(prefix="heron-bench-"))
    os.environ["HERON_ENRICH"] = "1" if enrich else "0"
    server = start_server(data / "data")
    headers = {"Authorization": f"Bearer {READ_KEY}"}
    try:
        _send(server.url, warmup, clients)
        server.wait_stored(n_warm)
        if enrich:
            _wait(lambda: httpx.get(f"{server.url}/v1/topics", params={"since": "30d"}, headers=headers).json(),
                  lambda t: bool(t["topics"]) and t["unassigned"] == 0, "topic model and backfill")
        started = time.perf_counter()
        _send(server.url, payloads, clients)
        stored = n / (server.wait_stored(n_warm + n) - started)
        enriched = None
        if enrich:
            _wait(lambda: httpx.get(f"{server.url}/v1/status", headers=headers).json()["enrichment"],
                  lambda e: e["enriched"] >= n_warm + n and e["backlog"] == 0, "enrichment")
            enriched = n / (time.perf_counter() - started)
        return stored, enriched
    finally:
        os.environ.pop("HERON_ENRICH", None)
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def _wait(read: Callable[[], Any], ready: Callable[[Any], bool], what: str, timeout: float = 1800.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready(read()):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not finish in {timeout:.0f} s")


def worker(items: list[Interaction], *, batch: int = 2_000, fit_on: int = 5_000,
           repeat: int = 3) -> tuple[float, dict[str, object]]:
    """(best turns/s of ``BatchEnricher.run`` with topics and emerging on, details)."""
    from heron.enrich import embeddings
    from heron.enrich.pipeline import BatchEnricher, fit_topic_model

    turns = [dataclasses.replace(Turn.from_interaction(item), project=PROJECT) for item in items]
    embeddings.model()  # loaded once per worker process; not what is measured
    model = fit_topic_model([turn.user_text for turn in turns[:fit_on]], seed=0)
    passes = []
    for _ in range(repeat):
        enricher = BatchEnricher(emerging=True)
        enricher.set_topic_models({PROJECT: model})
        started = time.perf_counter()
        for k in range(0, len(turns), batch):
            enricher.run(turns[k : k + batch])
        passes.append(len(turns) / (time.perf_counter() - started))
    candidates = len(enricher.emerging()[PROJECT])
    details = {"passes_per_s": [round(x) for x in passes], "topics": len(model["topics"]), "emerging": candidates}
    return max(passes), details


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--worker-n", type=int, default=20_000, help="turns for enrich_worker_per_s (the first --n)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=5_000, help="interactions sent first (the topic model is fitted on them)")
    parser.add_argument("--worker-only", action="store_true", help="only enrich_worker_per_s (no servers)")
    args = parser.parse_args()
    items = interactions(args.n)
    per_s, details = worker(items[: args.worker_n], batch=args.batch, repeat=args.repeat)
    print(f"worker (topics and emerging on, one process): {per_s:,.0f} turns/s {details}")
    record("enrich_worker_per_s", per_s, "turns/s", n=min(args.worker_n, len(items)), batch=args.batch,
           target=">= 4500", **details)
    if args.worker_only:
        return
    warm = interactions(args.warmup, seed=6)
    warmup, payloads = bodies(warm, args.batch), bodies(items, args.batch)
    without, _ = run(warmup, payloads, len(warm), args.n, enrich=False)
    with_enrich, enriched = run(warmup, payloads, len(warm), args.n, enrich=True)
    print(f"ingest without enrichment {without:,.0f}/s, with {with_enrich:,.0f}/s; enriched {enriched:,.0f}/s")
    record("enrich_per_s", enriched or 0.0, "interactions/s", n=args.n, target=">= 3000")
    record("ingest_with_enrich_ratio", with_enrich / without, "ratio", n=args.n, without_per_s=round(without), with_per_s=round(with_enrich), target=">= 0.8")


if __name__ == "__main__":
    main()
