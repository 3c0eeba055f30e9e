"""Fit the implicit-satisfaction weights (heron.enrich.satisfaction) against explicit thumbs.

Generates a week of demo traffic, enriches every turn with the standard
enrichers, builds each turn's implicit features from what came next in its
conversation, and fits a logistic regression of "thumbs up" on them for the
turns that got a thumb. Writes src/heron/enrich/data/satisfaction.json (with
the held-out AUC) unless --dry-run. The demo's users thumb up or down according
to how their conversation really went (their latent satisfaction), which is
what the implicit signals should predict; that the data is synthetic is a
limit worth stating next to the number.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from heron.demo.generator import Scenario, generate
from heron.enrich import pipeline
from heron.enrich.base import Signals, Turn
from heron.enrich.satisfaction import FEATURES, fit

OUT = Path(__file__).resolve().parent.parent / "src" / "heron" / "enrich" / "data" / "satisfaction.json"


def features(turns: list[Turn], signals: dict[str, Signals]) -> dict[str, dict[str, float]]:
    """Each turn's implicit features, from its own reply and the conversation's next user message."""
    by_conversation: dict[str, list[Turn]] = defaultdict(list)
    for turn in turns:
        by_conversation[turn.conversation_id or turn.interaction_id].append(turn)
    out: dict[str, dict[str, float]] = {}
    for conversation in by_conversation.values():
        conversation.sort(key=lambda t: t.start_time)
        for turn, following in zip(conversation, [*conversation[1:], None]):
            own = signals[turn.interaction_id]
            nxt = signals[following.interaction_id] if following is not None else None
            out[turn.interaction_id] = {
                "next_complaint": float(bool(nxt and nxt.complaint)),
                "next_rephrase": float(bool(nxt and nxt.rephrase)),
                "next_repeat": float(bool(nxt and nxt.repeat)),
                "next_thanks": float(bool(nxt and "gratitude" in nxt.cues)),
                "next_sentiment": float(nxt.sentiment or 0.0) if nxt else 0.0,
                "unexpected": float(own.unexpected_response),
                "ended": float(following is None),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    scenario = Scenario(seed=args.seed, end=None, users=1500, interactions_per_hour=400)
    scenario = Scenario(seed=args.seed, start=scenario.start, end=scenario.start + args.days * 86400, users=1500, interactions_per_hour=400)
    generated = list(generate(scenario))
    turns = [Turn.from_interaction(g.interaction) for g in generated]
    steps = pipeline.default_enrichers()
    signals: dict[str, Signals] = {}
    for k in tqdm(range(0, len(turns), 2000), desc="enriching", unit="batch"):
        batch = turns[k : k + 2000]
        for s in pipeline.run(steps, batch):
            signals[s.interaction_id] = s
    feats = features(turns, signals)
    rows, labels = [], []
    for g in generated:
        thumbs = [f.thumbs for f in g.feedback if f.thumbs is not None]
        if thumbs:
            rows.append(feats[g.interaction.id or ""])
            labels.append(1 if thumbs[-1] == "up" else 0)
    described = f"demo generator seed {args.seed}, {args.days:g} days, {len(turns)} turns, {len(rows)} with thumbs"
    weights = fit(rows, labels, seed=args.seed, trained_on=described)
    print(f"{described}; {sum(labels)} up / {len(labels) - sum(labels)} down")
    print(f"held-out AUC {weights.auc}; intercept {weights.intercept}")
    for name in FEATURES:
        print(f"  {name:<16} {weights.coefficients[name]:+.3f}")
    if not args.dry_run:
        OUT.write_text(json.dumps(weights.to_dict(), indent=2) + "\n")
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
