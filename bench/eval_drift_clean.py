"""Drift reports between windows of clean traffic should flag nothing (issue 13: day 2 against day 1
flagged latency, TTFT, cost and the message embedding; a weekend against weekdays flagged TTFT).

Two sources, each a week from a Monday with nothing injected: ``heron demo``'s generator (600
calls/h, no experiment, no prompt rollout) and the synthetic traffic of bench/eval_incidents.py
(written without the demo's generator; no texts, so no embedding there). Comparisons, with the
report the API gives (``drift_report``, default tests, the user-message embedding from the shipped
static model): day 2 / day 1, day 3 / day 2, Saturday / Friday, the weekend / the weekdays, and
10:00-13:00 on Tuesday / the same hours on Monday (about 1,800 calls a side: the sizes where the
embedding test used to be a permutation p-value). Recorded: ``drift_clean_false_flags``, features
flagged over all comparisons (target 0), with each comparison's flags in the detail.

    python -m bench.eval_drift_clean
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench._common import record
from bench.eval_incidents import synthetic_traffic
from heron.analytics.drift import Window, drift_report
from heron.demo.generator import generate
from heron.demo.scenario import Scenario
from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction
from heron.store.duckdb import DuckDBStore

DAY = 86400.0
MONDAY = 1_767_571_200.0  # 2026-01-05T00:00:00Z
COMPARISONS = {
    "day 2 / day 1": (Window(MONDAY, MONDAY + DAY), Window(MONDAY + DAY, MONDAY + 2 * DAY)),
    "day 3 / day 2": (Window(MONDAY + DAY, MONDAY + 2 * DAY), Window(MONDAY + 2 * DAY, MONDAY + 3 * DAY)),
    "Saturday / Friday": (Window(MONDAY + 4 * DAY, MONDAY + 5 * DAY), Window(MONDAY + 5 * DAY, MONDAY + 6 * DAY)),
    "weekend / weekdays": (Window(MONDAY, MONDAY + 5 * DAY), Window(MONDAY + 5 * DAY, MONDAY + 7 * DAY)),
    "Tue 10-13 / Mon 10-13": (Window(MONDAY + 10 * 3600, MONDAY + 13 * 3600), Window(MONDAY + DAY + 10 * 3600, MONDAY + DAY + 13 * 3600)),
}


def demo() -> Iterable[Interaction]:
    scenario = Scenario(seed=3, start=MONDAY, end=MONDAY + 7 * DAY, users=800, interactions_per_hour=600, experiment=None,
                        prompt_v3_at=MONDAY + 30 * DAY)  # fmt: skip
    for turn in generate(scenario):
        yield normalize_interaction(turn.interaction, project="p", now=MONDAY + 8 * DAY)


def flags(items: Iterable[Interaction], embed: Any) -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as directory:
        store = DuckDBStore(Path(directory) / "h.duckdb")
        batch: list[Interaction] = []
        for item in items:
            batch.append(item)
            if len(batch) == 20_000:
                store.write(batch, [], lsn=0)
                batch = []
        store.write(batch, [], lsn=0)
        found = {}
        for name, (reference, current) in COMPARISONS.items():
            report = drift_report(store, "p", reference, current, embed=embed)
            found[name] = [f"{r.feature} ({r.test} {r.statistic:.3g})" for r in report.results if r.drifted]
            print(f"  {name}: {found[name] or 'nothing flagged'}", flush=True)
        store.close()
    return found


def main() -> None:
    from heron.enrich.embeddings import embed

    print("demo traffic")
    on_demo = flags(demo(), embed)
    print("synthetic traffic")
    on_synthetic = flags(synthetic_traffic(7, MONDAY + 7 * DAY), None)
    total = sum(map(len, on_demo.values())) + sum(map(len, on_synthetic.values()))
    record("drift_clean_false_flags", total, "features flagged", target="0",
           detail={"demo": on_demo, "synthetic": on_synthetic, "comparisons": list(COMPARISONS)})  # fmt: skip


if __name__ == "__main__":
    main()
