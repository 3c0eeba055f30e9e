"""Injected incidents on traffic Heron was not tuned on, through the real ingest path and the server's
monitor: which classes are found, on which segment, how fast, and how many false incidents.

Traffic (written here, not with the demo's generator or texts): a travel-booking assistant over 9
days ending at the last midnight UTC -- four models of very different volume (16, 6, 2 and 0.7 calls a minute at the daily
mean, a daily curve peaking at 15:00 UTC, quieter weekends), 3,000 users with Zipf-like activity,
lognormal latencies and TTFT per model, 0.5 % errors, token counts from prompt and reply lengths.
Injected (issue 13's classes that ops metrics can show; the others need enrichment, experiments or
PII handling and are listed as not evaluated):

- ``latency``: latency and TTFT x3.5 for 2 h on ``atlas-large`` (day 3);
- ``rate_limit``: 25 % of ``atlas-mini``'s calls fail with a rate limit for 40 min (day 4);
- ``heavy_user``: one user sends 40x their usual volume with long pasted documents for 3 h (day 5);
- ``long_replies``: ``atlas-large``'s replies twice as long from day 6 on (a lasting change).

The bodies go to ``POST /v1/interactions`` of a real server (monitor off while loading), which is
then restarted with the monitor on: its first pass learns two days and judges the rest by event
time. Scored from ``GET /v1/incidents``: a class is found when an incident on its segment (or, for
the heavy user, anywhere) opens within its window (the first 6 h of a lasting change) + 30 min;
delay = opened - onset. Incidents on a lasting change's segment after it began are counted apart
(repeats: other hours of the day alerting until their profile learns the new level); every other
incident before the scenario's end is false, per evaluated day.

    python -m bench.eval_scenarios
"""

from __future__ import annotations

import itertools
import math
import random
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
from tqdm import tqdm

from bench._common import WRITE_KEY, READ_KEY, record, start_server

DAY = 86400.0
MODELS = {"atlas-large": (16.0, 7.1, 6.0), "atlas-mini": (6.0, 6.3, 5.2), "voyager": (2.0, 7.4, 6.3), "compass-legacy": (0.7, 6.8, 5.8)}
"""model -> (calls a minute at the daily mean, log-latency mean, log-TTFT mean)."""
CITIES = ("Lisbon", "Kyoto", "Cusco", "Reykjavik", "Hanoi", "Marrakesh", "Oaxaca", "Tallinn", "Cape Town", "Queenstown")
ASKS = ("Find me a hotel in {c} for three nights", "Is there a direct flight to {c} in May?", "Change my booking in {c} to a later date",
        "What documents do I need for {c}?", "Cancel the car rental I booked in {c}", "Suggest a two-day itinerary for {c}")  # fmt: skip
NOT_EVALUATED = ("new subject ramp (needs topics from enrichment)", "prompt version tripling rephrases (needs enrichment)",
                 "A/B test effect (experiments not built)", "PII in messages (PII handling not built)")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Injected:
    name: str
    start: float
    end: float
    segment: tuple[str, str] | None
    """(dim, value) an incident must name; None: any segment counts (no per-user segment is watched)."""


def plan(end: float) -> list[Injected]:
    start = end - 9 * DAY
    return [
        Injected("latency", start + 2 * DAY + 14 * 3600, start + 2 * DAY + 16 * 3600, ("model", "atlas-large")),
        Injected("rate_limit", start + 3 * DAY + 10 * 3600, start + 3 * DAY + 10 * 3600 + 2400, ("model", "atlas-mini")),
        Injected("heavy_user", start + 4 * DAY + 13 * 3600, start + 4 * DAY + 16 * 3600, None),
        Injected("long_replies", start + 5 * DAY + 9 * 3600, end, ("model", "atlas-large")),
    ]


def traffic(end: float, injected: list[Injected], seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = end - 9 * DAY
    on = {i.name: i for i in injected}
    users = [f"traveller-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}" for _ in range(3000)]
    cumulative = list(itertools.accumulate(1.0 / (k + 1) ** 0.8 for k in range(len(users))))
    heavy = users[40]
    items: list[dict[str, Any]] = []
    for minute in range(int(9 * 1440)):
        t = start + minute * 60
        hour = (t % DAY) / 3600
        weekend = int(t // DAY + 3) % 7 >= 5
        shape = (1 + 0.5 * math.cos(2 * math.pi * (hour - 15) / 24)) * (0.75 if weekend else 1.0)
        calls: list[tuple[str, str, bool]] = []
        for model, (rate, _, _) in MODELS.items():
            calls += [(model, rng.choices(users, cum_weights=cumulative)[0], False) for _ in range(_poisson(rng, rate * shape))]
        heavy_on = on["heavy_user"].start <= t < on["heavy_user"].end
        if heavy_on:  # usually ~one call an hour; now 40x, with pasted documents
            calls += [("atlas-large", heavy, True) for _ in range(_poisson(rng, 40 / 60))]
        for model, user, pasted in calls:
            items.append(_call(rng, model, user, pasted, t + rng.uniform(0, 59.9), on))
    return items


def _call(rng: random.Random, model: str, user: str, pasted: bool, t: float, on: dict[str, Injected]) -> dict[str, Any]:
    _, log_latency, log_ttft = MODELS[model]
    slow = 3.5 if model == "atlas-large" and on["latency"].start <= t < on["latency"].end else 1.0
    longer = 2.0 if model == "atlas-large" and t >= on["long_replies"].start else 1.0
    limited = model == "atlas-mini" and on["rate_limit"].start <= t < on["rate_limit"].end and rng.random() < 0.25
    failed = limited or rng.random() < 0.005
    ask = rng.choice(ASKS).format(c=rng.choice(CITIES))
    if pasted:
        ask += " Here is the itinerary:\n" + " ".join(rng.choice(CITIES) + f" leg {k}, seat {rng.randint(1, 40)}{'ABCDEF'[k % 6]}" for k in range(400))
    reply_words = 0 if failed else int(rng.lognormvariate(4.3, 0.4) * longer)
    latency = rng.lognormvariate(log_latency, 0.3) * slow * (1 + reply_words / 400)
    ttft = min(latency, rng.lognormvariate(log_ttft, 0.25) * slow)
    item: dict[str, Any] = {
        "id": uuid.UUID(int=rng.getrandbits(128)).hex, "model": model, "provider": "openai", "start_time": t,
        "latency_ms": 40.0 + rng.random() * 300 if limited else latency, "user_id": user,
        "conversation_id": f"{user}-{int(t // 1800)}", "input": [{"role": "user", "content": ask}],
        "input_tokens": len(ask) // 4 + 120, "status": "error" if failed else "ok",
    }  # fmt: skip
    if failed:
        item["error_type"] = "RateLimitError" if limited else "APIConnectionError"
    else:
        item.update(ttft_ms=ttft, output_tokens=reply_words * 4 // 3, output="Here is what I found: " + "option " * reply_words)
    return item


def _poisson(rng: random.Random, lam: float) -> int:
    k, p, threshold = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def score(incidents: list[dict[str, Any]], injected: list[Injected], evaluated_days: float, end: float) -> dict[str, Any]:
    incidents = [i for i in incidents if i["opened"] < end]  # after the scenario's last call: traffic "stopped"
    found: dict[str, Any] = {}
    matched: set[str] = set()
    for case in injected:
        hits = [
            i for i in incidents
            if case.start - 300 <= i["opened"] <= min(case.end, case.start + 6 * 3600) + 1800
            and (case.segment is None or (i["segment"]["dim"], i["segment"]["value"]) == case.segment)
        ]  # fmt: skip
        matched |= {i["id"] for i in hits}
        first = min(hits, key=lambda i: i["opened"]) if hits else None
        found[case.name] = {
            "found": first is not None,
            "delay_min": None if first is None else round((first["opened"] - case.start) / 60, 1),
            "segment": None if first is None else f"{first['segment']['dim']}={first['segment']['value']}",
            "title": None if first is None else first["title"],
        }
    lasting = [c for c in injected if c.end >= end and c.segment is not None]
    repeats = [  # a lasting change alerting again at other hours until every hour's profile has learned it
        i for i in incidents if i["id"] not in matched
        and any(i["opened"] >= c.start and (i["segment"]["dim"], i["segment"]["value"]) == c.segment for c in lasting)
    ]  # fmt: skip
    false = [i for i in incidents if i["id"] not in matched and i not in repeats]
    return {"classes": found, "false_incidents": len(false), "false_per_day": round(len(false) / evaluated_days, 2),
            "false_examples": [i["title"] for i in false[:8]], "lasting_change_repeats": [i["title"] for i in repeats]}  # fmt: skip


def main() -> None:
    end = math.floor(time.time() / DAY) * DAY  # last midnight UTC: the same hours of day every run
    injected = plan(end)
    items = traffic(end, injected)
    print(f"{len(items):,} calls over 9 days", flush=True)
    data = Path(tempfile.mkdtemp(prefix="heron-scenarios-")) / "data"
    headers = {"Authorization": f"Bearer {WRITE_KEY}"}
    try:
        server = start_server(data, {"HERON_MONITOR_INTERVAL": "0", "HERON_ENRICH": "0"})
        with httpx.Client(timeout=120) as client:
            for k in tqdm(range(0, len(items), 1000), desc="ingesting", unit=" batches"):
                body = msgspec.json.encode({"interactions": items[k : k + 1000]})
                while (r := client.post(server.url + "/v1/interactions", content=body, headers={**headers, "Content-Type": "application/json"})).status_code in (429, 503):
                    time.sleep(1)
                assert r.status_code == 200, r.text
        server.wait_stored(len(items))
        server.stop()
        server = start_server(data, {"HERON_MONITOR_INTERVAL": "2", "HERON_ENRICH": "0", "HERON_DRIFT_EVERY": "1e9"})
        read = {"Authorization": f"Bearer {READ_KEY}"}
        deadline, incidents, previous = time.monotonic() + 900, [], None
        with tqdm(desc="monitor's first pass", unit=" polls") as bar:
            while time.monotonic() < deadline:  # the first pass writes once, when all history is judged
                status = httpx.get(server.url + "/v1/status", headers=read, timeout=30).json()
                minutes = (status.get("monitor") or {}).get("minutes", 0)
                bar.update(1)
                if previous is not None and previous >= 9 * 1440 - 30:  # all history judged, then one more poll
                    break
                previous = minutes
                time.sleep(5)
        incidents = httpx.get(server.url + "/v1/incidents", params={"since": "9d"}, headers=read, timeout=60).json()["incidents"]
        server.stop()
    finally:
        shutil.rmtree(data.parent, ignore_errors=True)
    result = score(incidents, injected, evaluated_days=7.0, end=end)
    for name, outcome in result["classes"].items():
        print(f"  {name}: {outcome}")
    print(f"  false incidents: {result['false_incidents']} ({result['false_per_day']}/day): {result['false_examples']}")
    print(f"  repeats of the lasting change: {result['lasting_change_repeats']}")
    found = sum(o["found"] for o in result["classes"].values())
    record("detect_classes_found", found, "of 8 classes", target="8 (every class, on the right segment)",
           detail={**result, "not_evaluated": NOT_EVALUATED, "calls": len(items), "source": "bench/eval_scenarios.py"})  # fmt: skip
    record("detect_false_incidents_per_day_scenarios", result["false_per_day"], "incidents/day", target="<= 1",
           detail={"source": "bench/eval_scenarios.py, the 7 evaluated days minus the injected windows"})  # fmt: skip


if __name__ == "__main__":
    main()
