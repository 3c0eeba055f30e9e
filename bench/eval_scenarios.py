"""Injected incidents on traffic Heron was not tuned on, through the real ingest path and the server's
monitor: which classes are found, on which segment, how fast, and how many false incidents.

Traffic (written here, not with the demo's generator or texts): a travel-booking assistant over 9
days ending at the last midnight UTC -- four models of very different volume (16, 6, 2 and 0.7 calls a minute at the daily
mean, a daily curve peaking at 15:00 UTC, quieter weekends), 3,000 users with Zipf-like activity,
lognormal latencies and TTFT per model, 0.5 % errors, token counts from prompt and reply lengths.
Injected (issue 13's classes that ops metrics and topics can show; the others need UX monitoring,
experiments or PII handling and are listed as not evaluated):

- ``latency``: latency and TTFT x3.5 for 2 h on ``atlas-large`` (day 3);
- ``rate_limit``: 25 % of ``atlas-mini``'s calls fail with a rate limit for 40 min (day 4);
- ``heavy_user``: one user sends 40x their usual volume with long pasted documents for 3 h (day 5);
- ``long_replies``: ``atlas-large``'s replies twice as long from day 6 on (a lasting change);
- ``new_subject``: from day 4 on, lost-luggage questions (a subject the assistant never had) grow
  linearly from 0 to 30 % of messages over a week, passing 3 % 16.8 h in;
- ``prompt_regression``: from day 7 10:00 on, half the calls run prompt version ``v8`` (the rest
  ``v7``); 5 % of answered calls are followed in their conversation by a rephrasing or a complaint,
  15 % of v8's answers to the documents question (a sixth of asks) -- to be found on
  ``prompt_version=v8`` within a day.

The bodies go to ``POST /v1/interactions`` of a real server (monitor off while loading, enrichment
on): the first two days, then -- once they are enriched and the server has fitted its topic model
from them, as it would on live traffic -- the rest, in time order. The server is then restarted
with the monitor on: its first pass learns two days and judges the rest by event time. Scored from
``GET /v1/incidents``: a class is found when an incident on its segment (or, for the heavy user,
anywhere) -- and, for the prompt regression, on a UX metric -- opens within its window (the first 6 h
of a lasting change, a day for the prompt regression) + 30 min; delay = opened - onset. The new
subject is scored from ``GET /v1/topics/emerging`` (read before the restart): found when a
candidate whose examples are mostly lost-luggage questions was detected (event time) within 24 h of
the subject passing 3 %; other candidates are false reports. Incidents on a lasting change's
segment after it began are counted apart (repeats: other hours of the day alerting until their
profile learns the new level), and so are incidents on unassigned messages (``topic_id=-1``) after
the new subject began (its messages fit no topic and sound unhappy: a sentiment shift there is its
doing); every other incident before the scenario's end is false, per evaluated day.

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
ASKS = ("Find me a hotel in {c} {d}", "Is there a direct flight to {c} {d}?", "Change my booking in {c} to a later date, {d}",
        "What documents do I need for {c}? We go {d}", "Cancel the car rental I booked in {c} {d}", "Suggest a two-day itinerary for {c} {d}")  # fmt: skip
DETAILS = ("for three nights", "in May", "for two adults", "with free cancellation", "close to the old town", "for a family of four",
           "on a small budget", "in the first week of June", "for a business trip", "with a late check-in", "for my parents",
           "over the long weekend", "with a dog", "before the holidays", "for a honeymoon", "with a connection under two hours")  # fmt: skip
LUGGAGE = ("My bag never arrived on the flight to {c}, how do I file a claim? {d}", "The airline lost my suitcase in {c}, what compensation can I get? {d}",
           "Where is my delayed baggage from {c}? {d}", "My luggage got damaged on the way to {c}, who pays for the repair? {d}",
           "How long do I have to report missing luggage after landing in {c}? {d}", "Can I buy clothes while my bag from {c} is missing and get refunded? {d}")  # fmt: skip
LUGGAGE_DETAILS = ("It has been two days.", "The tag number ends in {n}.", "It was a blue hard-shell case.", "I connected through Madrid.",
                   "The desk gave me reference {n}.", "My medication was inside.", "I flew economy.", "It had my laptop charger in it.",
                   "The tracker shows it still at the airport.", "Nobody at the counter could help.")  # fmt: skip
"""The new subject: lost luggage, which no other ask is about (each of its messages says bag, suitcase, baggage or luggage)."""
RAMP_WEEK = 7 * DAY
FOLLOW_UPS = (("I mean which papers exactly, for {c}?", "Let me ask again: what is required to enter {c}?",
               "No, I asked about {c} specifically. Can you check?", "Sorry, to be clear: I need the entry requirements for {c}."),
              ("That doesn't answer my question at all.", "This is useless, it's the same generic list again.",
               "You're not listening, I asked something else.", "Honestly this is frustrating, none of that helps."))  # fmt: skip
"""A user asking again: rephrasings, then complaints (written for this scenario, not from Heron's lexicons)."""
FOLLOW_UP = 0.05
"""Of answered calls, the share followed by one of them (three times as many for v8's answers on documents)."""
NOT_EVALUATED = ("A/B test effect (experiments not built)", "PII in messages (PII handling not built)")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Injected:
    name: str
    start: float
    end: float
    segment: tuple[str, str] | None
    """(dim, value) an incident must name; None: any segment counts (no per-user segment is watched)."""
    within: float = 6 * 3600.0
    """A lasting change must be found this long after it began (UX drift: a day)."""
    metrics: tuple[str, ...] = ()
    """Metrics an incident must include to count (none: any): a new prompt version's volume appearing is not its
    users' frustration."""


def plan(end: float) -> list[Injected]:
    start = end - 9 * DAY
    return [
        Injected("latency", start + 2 * DAY + 14 * 3600, start + 2 * DAY + 16 * 3600, ("model", "atlas-large")),
        Injected("rate_limit", start + 3 * DAY + 10 * 3600, start + 3 * DAY + 10 * 3600 + 2400, ("model", "atlas-mini")),
        Injected("heavy_user", start + 4 * DAY + 13 * 3600, start + 4 * DAY + 16 * 3600, None),
        Injected("long_replies", start + 5 * DAY + 9 * 3600, end, ("model", "atlas-large")),
        Injected("new_subject", start + 3 * DAY, end, None),
        Injected("prompt_regression", start + 6 * DAY + 10 * 3600, end, ("prompt_version", "v8"), within=DAY,
                 metrics=("frustration_rate", "sentiment_avg", "frustrated", "satisfaction", "thumbs_up")),
    ]


def traffic(end: float, injected: list[Injected], seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = end - 9 * DAY
    on = {i.name: i for i in injected}
    users = [f"traveller-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}" for _ in range(3000)]
    cumulative = list(itertools.accumulate(1.0 / (k + 1) ** 0.8 for k in range(len(users))))
    heavy = users[200]  # ~1 call an hour at the daily mean (Zipf rank 201 of 3,000)
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
            item = _call(rng, model, user, pasted, t + rng.uniform(0, 59.9), on)
            items.append(item)
            worse = item["prompt_version"] == "v8" and "documents do I need" in item["input"][0]["content"]
            if item["status"] == "ok" and rng.random() < FOLLOW_UP * (3.0 if worse else 1.0):
                items.append(_follow_up(rng, item, on))
    return sorted(items, key=lambda item: item["start_time"])


def _follow_up(rng: random.Random, item: dict[str, Any], on: dict[str, Injected]) -> dict[str, Any]:
    """The same user asking again in the same conversation, a little later: a rephrasing or a complaint."""
    text = rng.choice(rng.choice(FOLLOW_UPS)).format(c=rng.choice(CITIES))
    again = _call(rng, item["model"], item["user_id"], False, item["start_time"] + rng.uniform(20, 90), on)
    again.update(conversation_id=item["conversation_id"], prompt_version=item["prompt_version"],
                 input=[*item["input"], {"role": "assistant", "content": item["output"]}, {"role": "user", "content": text}])
    again["input_tokens"] = sum(len(m["content"]) for m in again["input"]) // 4 + 120
    return again


def _call(rng: random.Random, model: str, user: str, pasted: bool, t: float, on: dict[str, Injected]) -> dict[str, Any]:
    _, log_latency, log_ttft = MODELS[model]
    slow = 3.5 if model == "atlas-large" and on["latency"].start <= t < on["latency"].end else 1.0
    longer = 2.0 if model == "atlas-large" and t >= on["long_replies"].start else 1.0
    limited = model == "atlas-mini" and on["rate_limit"].start <= t < on["rate_limit"].end and rng.random() < 0.25
    failed = limited or rng.random() < 0.005
    ramp = on["new_subject"]
    luggage = t >= ramp.start and rng.random() < 0.3 * (t - ramp.start) / RAMP_WEEK
    detail = rng.choice(LUGGAGE_DETAILS).format(n=rng.randint(1000, 9999)) if luggage else rng.choice(DETAILS)
    ask = rng.choice(LUGGAGE if luggage else ASKS).format(c=rng.choice(CITIES), d=detail)
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
        "prompt_version": "v8" if t >= on["prompt_regression"].start and rng.random() < 0.5 else "v7",
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


def score_emerging(candidates: list[dict[str, Any]], ramp: Injected) -> tuple[dict[str, Any], list[str]]:
    """The new subject's outcome from the emerging-topic candidates, and the labels of the other candidates."""
    def luggage(text: str) -> bool:
        return any(word in text.lower() for word in ("bag", "suitcase", "luggage"))

    passes_3_percent = ramp.start + 0.1 * RAMP_WEEK
    hits = [c for c in candidates if 2 * sum(luggage(e) for e in c["examples"]) > len(c["examples"])]
    first = min(hits, key=lambda c: c["detected_at"]) if hits else None
    in_time = first is not None and first["detected_at"] <= passes_3_percent + DAY
    outcome = {
        "found": in_time,
        "delay_min": None if first is None else round((first["detected_at"] - ramp.start) / 60, 1),
        "after_3_percent_h": None if first is None else round((first["detected_at"] - passes_3_percent) / 3600, 1),
        "segment": None if first is None else "emerging topic",
        "title": None if first is None else f"emerging topic: {first['label']} ({first['share']:.1%} of messages)",
    }
    return outcome, [c["label"] for c in candidates if c not in hits]


def score(incidents: list[dict[str, Any]], injected: list[Injected], evaluated_days: float, end: float,
          candidates: list[dict[str, Any]]) -> dict[str, Any]:
    incidents = [i for i in incidents if i["opened"] < end]  # after the scenario's last call: traffic "stopped"
    found: dict[str, Any] = {}
    matched: set[str] = set()
    ramp = next(case for case in injected if case.name == "new_subject")
    found[ramp.name], false_candidates = score_emerging(candidates, ramp)
    for case in injected:
        if case is ramp:
            continue
        hits = [
            i for i in incidents
            if case.start - 300 <= i["opened"] <= min(case.end, case.start + case.within) + 1800
            and (case.segment is None or (i["segment"]["dim"], i["segment"]["value"]) == case.segment)
            and (not case.metrics or set(i["metrics"]) & set(case.metrics))
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
    related = [  # the new subject's messages fit no topic and sound unhappy: "sentiment shift on topic_id=-1" is its doing
        i for i in incidents if i["id"] not in matched and i not in repeats and i["opened"] >= ramp.start
        and (i["segment"]["dim"], i["segment"]["value"]) == ("topic_id", "-1")
    ]  # fmt: skip
    false = [i for i in incidents if i["id"] not in matched and i not in repeats and i not in related]
    return {"classes": found, "false_incidents": len(false), "false_per_day": round(len(false) / evaluated_days, 2),
            "false_examples": [i["title"] for i in false[:8]], "lasting_change_repeats": [i["title"] for i in repeats],
            "false_emerging_topics": false_candidates, "new_subject_related": [i["title"] for i in related]}  # fmt: skip


def send(client: httpx.Client, url: str, items: list[dict[str, Any]], headers: dict[str, str], what: str) -> None:
    for k in tqdm(range(0, len(items), 1000), desc=what, unit=" batches"):
        body = msgspec.json.encode({"interactions": items[k : k + 1000]})
        while (r := client.post(url + "/v1/interactions", content=body, headers={**headers, "Content-Type": "application/json"})).status_code in (429, 503):
            time.sleep(1)
        assert r.status_code == 200, r.text


def wait_enriched(url: str, read: dict[str, str], count: int, *, need_model: bool, timeout: float = 900) -> None:
    """Until ``count`` calls are enriched and none waits (and, with ``need_model``, the project has a topic model)."""
    deadline = time.monotonic() + timeout
    with tqdm(desc="enriching" + (" and fitting topics" if need_model else ""), unit=" polls") as bar:
        while time.monotonic() < deadline:
            enrichment = httpx.get(url + "/v1/status", headers=read, timeout=30).json()["enrichment"]
            bar.set_postfix(backlog=enrichment["backlog"], topic_models=enrichment["topic_models"])
            bar.update(1)
            if enrichment["enriched"] >= count and enrichment["backlog"] == 0 and (enrichment["topic_models"] or not need_model):
                return
            time.sleep(2)
    raise TimeoutError("enrichment did not catch up")


def main() -> None:
    end = math.floor(time.time() / DAY) * DAY  # last midnight UTC: the same hours of day every run ...
    end -= (int(end // DAY) + 3) % 7 * DAY  # ... and the same weekdays: it ends on a Monday 00:00, it starts on a Saturday
    injected = plan(end)
    items = traffic(end, injected)
    print(f"{len(items):,} calls over 9 days", flush=True)
    data = Path(tempfile.mkdtemp(prefix="heron-scenarios-")) / "data"
    headers = {"Authorization": f"Bearer {WRITE_KEY}"}
    read = {"Authorization": f"Bearer {READ_KEY}"}
    learned = end - 7 * DAY  # the first two days: the topic model is fitted from them, as on live traffic
    first = [item for item in items if item["start_time"] < learned]
    try:
        server = start_server(data, {"HERON_MONITOR_INTERVAL": "0"})
        with httpx.Client(timeout=120) as client:
            send(client, server.url, first, headers, "ingesting days 1-2")
            server.wait_stored(len(first))
            wait_enriched(server.url, read, len(first), need_model=True)
            send(client, server.url, items[len(first):], headers, "ingesting days 3-9")
        server.wait_stored(len(items))
        wait_enriched(server.url, read, len(items), need_model=False)
        candidates = httpx.get(server.url + "/v1/topics/emerging", headers=read, timeout=60).json()["emerging"]
        server.stop()
        server = start_server(data, {"HERON_MONITOR_INTERVAL": "2", "HERON_ENRICH": "0", "HERON_DRIFT_EVERY": "1e9"})
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
    result = score(incidents, injected, evaluated_days=7.0, end=end, candidates=candidates)
    for name, outcome in result["classes"].items():
        print(f"  {name}: {outcome}")
    print(f"  false incidents: {result['false_incidents']} ({result['false_per_day']}/day): {result['false_examples']}")
    print(f"  repeats of the lasting change: {result['lasting_change_repeats']}")
    print(f"  other emerging topics: {result['false_emerging_topics']}")
    print(f"  incidents on unassigned messages after the new subject began: {result['new_subject_related']}")
    found = sum(o["found"] for o in result["classes"].values())
    record("detect_classes_found", found, "of 8 classes", target="8 (every class, on the right segment)",
           detail={**result, "not_evaluated": NOT_EVALUATED, "calls": len(items), "source": "bench/eval_scenarios.py"})  # fmt: skip
    record("detect_false_incidents_per_day_scenarios", result["false_per_day"], "incidents/day", target="<= 1",
           detail={"source": "bench/eval_scenarios.py, the 7 evaluated days minus the injected windows"})  # fmt: skip


if __name__ == "__main__":
    main()
