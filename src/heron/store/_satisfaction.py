"""Per-turn satisfaction for a conversation read back from the store (same rule as the UX summary SQL)."""

from __future__ import annotations

from typing import Any

from heron.enrich.satisfaction import explicit, shipped_weights


def attach_satisfaction(turns: list[dict[str, Any]]) -> None:
    """Set ``satisfaction`` (and its ``satisfaction_source``) on each turn, oldest first, in place."""
    weights = shipped_weights()
    for turn, following in zip(turns, [*turns[1:], None]):
        own = turn.get("signals")
        nxt = following.get("signals") if following is not None else None
        thumbs = [f["thumbs"] for f in turn["feedback"] if f.get("thumbs")]
        ratings = [f["rating"] for f in turn["feedback"] if f.get("rating") is not None]
        value = explicit(thumbs[-1] if thumbs else None, ratings[-1] if ratings else None)
        if value is not None:
            turn["satisfaction"], turn["satisfaction_source"] = value, "explicit"
        elif own is None:
            turn["satisfaction"], turn["satisfaction_source"] = None, None
        else:
            unexpected = any(own.get(k) for k in ("refusal", "empty_reply", "truncated", "error"))
            features = {
                "next_complaint": float(bool(nxt and nxt.get("complaint"))),
                "next_rephrase": float(bool(nxt and nxt.get("rephrase"))),
                "next_repeat": float(bool(nxt and nxt.get("repeat"))),
                "next_thanks": float(bool(nxt and "gratitude" in (nxt.get("cues") or []))),
                "next_sentiment": float((nxt or {}).get("sentiment") or 0.0),
                "unexpected": float(unexpected),
                "ended": float(following is None),
            }
            turn["satisfaction"], turn["satisfaction_source"] = weights.score(features), "implicit"
