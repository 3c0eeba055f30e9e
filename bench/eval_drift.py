"""The server's hourly drift run on demo traffic: false alarms on clean traffic, delay on injected drift.

``python -m bench.eval_drift`` generates 14 days of demo traffic (``Scenario``,
150 interactions/h, its daily and weekly rhythm), stores it, and replays the
monitor's drift run (``Monitor.drift``: the last day against the week before,
every feature, default tests) every hour of days 8-14. Scenarios: clean;
reply length x0.6 from day 10 (``length``); latency x1.5 from day 10
(``latency``); errors x3 from day 10 (``errors``). Reported: drifted
feature-runs per day on clean traffic, and for each injected change the
hours from its start until its feature is first flagged (and other features
flagged meanwhile). Not enriched, so sentiment, frustration, language and
topic are skipped. Printed for docs/drift.md; nothing is recorded.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from heron.demo.generator import Scenario, generate
from heron.demo.scenario import Incident
from heron.schema.normalize import normalize_interaction
from heron.server.monitor import Monitor
from heron.store.duckdb import DuckDBStore

DAY = 86400.0
START = 1_763_596_800.0
CHANGE = START + 10 * DAY
SCENARIOS = {
    "clean": ((), None),
    "length x0.6": ((Incident("length", CHANGE, duration=None, factor=0.6),), "response_chars"),
    "latency x1.5": ((Incident("latency", CHANGE, duration=None, factor=1.5),), "latency_ms"),
    "errors x3": ((Incident("errors", CHANGE, duration=None, factor=3.0),), "status"),
}


def run(incidents: tuple[Incident, ...]) -> list[tuple[float, set[str]]]:
    scenario = Scenario(seed=2, start=START, end=START + 14 * DAY, users=3000, interactions_per_hour=150,
                        experiment=None, incidents=incidents)  # fmt: skip
    items = [normalize_interaction(t.interaction, project="p", now=START + 15 * DAY) for t in generate(scenario)]
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "d.duckdb")
        for k in range(0, len(items), 20_000):
            store.write(items[k : k + 20_000], [], lsn=0)
        monitor = Monitor(store)
        runs = []
        now = START + 8 * DAY
        while now <= START + 14 * DAY:
            rows = monitor.drift("p", now)
            runs.append((now, {r["feature"] for r in rows if r["drifted"] and r["feature"] != "(overall)"}))
            now += 3600.0
        store.close()
    return runs


def main() -> None:
    for name, (incidents, feature) in SCENARIOS.items():
        runs = run(incidents)
        days = (runs[-1][0] - runs[0][0]) / DAY
        if feature is None:
            alarms = sum(len(found) for _, found in runs)
            print(f"{name}: {alarms} drifted feature-runs in {len(runs)} hourly runs over {days:.1f} days "
                  f"({alarms / days:.2f}/day); features: {sorted(set().union(*(f for _, f in runs)))}")
            continue
        hits = [t for t, found in runs if feature in found and t >= CHANGE]
        before = sorted(set().union(*(found for t, found in runs if t < CHANGE)))
        delay = (hits[0] - CHANGE) / 3600.0 if hits else None
        others = sorted(set().union(*(found - {feature} for t, found in runs if t >= CHANGE)))
        print(f"{name}: {feature} flagged {'never' if delay is None else f'{delay:.0f} h after the change'}; "
              f"flagged before the change: {before}; other features flagged after: {others}")


if __name__ == "__main__":
    main()
