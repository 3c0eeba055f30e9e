"""Satisfaction of a turn: explicit feedback when there is some, else a model of implicit signals.

Explicit: thumbs up = 1, down = 0; a rating r on the usual 1-5 scale = (r - 1) / 4
(ratings above 5 are read as a 0-10 scale: r / 10). Implicit: a logistic model of
what the turn's reply provoked — the *next* user message of the conversation
(complaint, rephrase, repeat, thanks, its sentiment), model-side trouble in the
reply (refusal, empty, truncated, error), and whether the user left right after
it. Its weights are fitted by ``bench/fit_satisfaction.py`` (logistic regression
against explicit thumbs) and shipped in ``data/satisfaction.json`` with the
fit's held-out AUC. A conversation's satisfaction is the mean of its turns'.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

FEATURES: tuple[str, ...] = (
    "next_complaint",
    "next_rephrase",
    "next_repeat",
    "next_thanks",
    "next_sentiment",
    "unexpected",
    "ended",
)
"""Implicit features of a turn, each 0/1 except ``next_sentiment`` in [-1, 1] (0 when there is no next turn)."""


@dataclass(frozen=True, slots=True)
class Weights:
    intercept: float
    coefficients: Mapping[str, float]
    auc: float | None = None
    """Held-out ROC AUC of the fit that produced these weights."""
    trained_on: str = ""

    def score(self, features: Mapping[str, float]) -> float:
        z = self.intercept + sum(self.coefficients.get(name, 0.0) * float(features.get(name, 0.0)) for name in FEATURES)
        return 1.0 / (1.0 + math.exp(-z))

    def sql(self, column: Mapping[str, str]) -> str:
        """The same score as a SQL expression; ``column`` maps each feature to a SQL expression."""
        terms = " + ".join(f"{self.coefficients.get(name, 0.0)!r} * ({column[name]})" for name in FEATURES)
        return f"1.0 / (1.0 + exp(-({self.intercept!r} + {terms})))"

    def to_dict(self) -> dict[str, Any]:
        return {"intercept": self.intercept, "coefficients": dict(self.coefficients), "auc": self.auc, "trained_on": self.trained_on}


@lru_cache(maxsize=1)
def shipped_weights() -> Weights:
    data = json.loads(resources.files("heron.enrich").joinpath("data/satisfaction.json").read_text(encoding="utf-8"))
    return Weights(data["intercept"], data["coefficients"], data.get("auc"), data.get("trained_on", ""))


def explicit(thumbs: str | None, rating: float | None) -> float | None:
    if thumbs is not None:
        return 1.0 if thumbs == "up" else 0.0
    if rating is not None:
        return max(0.0, min(1.0, (rating - 1.0) / 4.0 if rating <= 5 else rating / 10.0))
    return None


def fit(rows: Sequence[Mapping[str, float]], labels: Sequence[int], *, seed: int = 0, trained_on: str = "") -> Weights:
    """Logistic regression of labels (1 = thumbs up) on FEATURES; AUC on a 30 % held-out split."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    x = np.array([[float(r.get(name, 0.0)) for name in FEATURES] for r in rows])
    y = np.array(labels)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    auc = float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
    final = LogisticRegression(max_iter=1000).fit(x, y)
    coefficients = {name: round(float(c), 4) for name, c in zip(FEATURES, final.coef_[0])}
    return Weights(round(float(final.intercept_[0]), 4), coefficients, round(auc, 4), trained_on)
