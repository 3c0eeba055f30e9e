"""Abandonment after a poor answer, and session ends, against the demo generator's ground truth.

``python -m bench.eval_abandonment`` enriches the first ``--n`` turns of
``Scenario(seed=3)`` with the real pipeline, stores them in a scratch DuckDB
store (the server's code path: ``write_signals`` derives session ends and
abandonment), and compares with ``Truth.last`` and ``Truth.abandoned`` (the
generator's user left unhappy right after that turn). Printed, and quoted in
docs/ux-quality.md; nothing is recorded.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

from heron.demo.generator import Scenario, generate
from heron.enrich.base import Turn
from heron.enrich.pipeline import BatchEnricher
from heron.schema.normalize import normalize_interaction
from heron.store.duckdb import DuckDBStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    now = 1_763_596_800.0  # fixed, so the traffic (and the figures) repeat
    scenario = Scenario(seed=3, start=now - 7 * 86400, end=now - 3600, users=1500, interactions_per_hour=args.n / (7 * 24) * 1.1)
    generated = list(itertools.islice(generate(scenario), args.n))
    items = [normalize_interaction(g.interaction, project="p", now=now) for g in generated]
    truth = {item.id: g.truth for item, g in zip(items, generated, strict=True)}
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "eval.duckdb")
        enricher = BatchEnricher(emerging=False)
        for k in range(0, len(items), 2_000):
            batch = items[k : k + 2_000]
            store.write(batch, [], lsn=0)
            turns = [Turn.from_interaction(item) for item in batch]
            watermark = store._con.execute("SELECT max(rowid) FROM interactions").fetchall()[0][0]  # noqa: SLF001
            store.write_signals(turns, enricher.run(turns), watermark)
        rows = store._con.execute("SELECT interaction_id, is_last, abandoned FROM interaction_signals").fetchall()  # noqa: SLF001
        store.close()
    # The window's cut leaves conversations open: the generator marks no end there; score ended ones only.
    scored = [(truth[i], bool(last), bool(abandoned)) for i, last, abandoned in rows]
    _report("session end (is_last vs Truth.last)", [(t.last, last) for t, last, _ in scored])
    _report("abandoned after a poor answer", [(t.abandoned, abandoned) for t, _, abandoned in scored])
    ended = [(t.abandoned, abandoned) for t, last, abandoned in scored if t.last]
    _report("  among turns that truly ended a conversation", ended)


def _report(name: str, pairs: list[tuple[bool, bool]]) -> None:
    tp = sum(1 for t, p in pairs if t and p)
    fp = sum(1 for t, p in pairs if p and not t)
    fn = sum(1 for t, p in pairs if t and not p)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    print(f"{name}: precision {precision:.2f}, recall {recall:.2f} (true {tp + fn:,}, predicted {tp + fp:,}, turns {len(pairs):,})")


if __name__ == "__main__":
    main()
