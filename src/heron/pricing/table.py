"""Which price applies to a call, and what the call cost.

The shipped table (``prices.json``) gives list prices per million tokens.
A project may override a model's price from a date on: calls before that date
keep the earlier price (a price change is never retroactive), calls from it on
use the new one. A model found in neither is *unknown*: its cost is None,
never 0, and the API lists such models so someone can add their price.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from heron.errors import ValidationError
from heron.schema.records import Interaction

_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{3,4}|latest)$")
PRICED_MODEL_SQL = "coalesce(response_model, model)"
"""The model a call is priced by: the answering model when known, else the requested one."""
CANONICAL_SQL = (
    rf"regexp_replace(regexp_replace(lower({PRICED_MODEL_SQL}), '^.*/', ''), '-(\d{{4}}-\d{{2}}-\d{{2}}|\d{{8}}|\d{{3,4}}|latest)$', '')"
)
"""The same canonicalisation as :func:`canonical_model`, as a SQL expression over a call's priced model."""


def priced_model(item: Interaction) -> str:
    return item.response_model or item.model


def canonical_model(model: str) -> str:
    """``openai/GPT-4o-2024-08-06`` → ``gpt-4o``: provider prefix, case and snapshot suffix removed
    (a date, ``20241022``, a version such as ``-001``/``-0613``, or ``-latest``)."""
    name = model.lower().rsplit("/", 1)[-1]
    return _DATED.sub("", name)


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached: float | None = None
    """Prompt-cache reads; defaults to ``input``."""
    reasoning: float | None = None
    """Reasoning tokens; defaults to ``output``."""

    def __post_init__(self) -> None:
        for name in ("input", "output", "cached", "reasoning"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 10_000:
                raise ValidationError(name, f"must be between 0 and 10000 USD per million tokens, got {value}")


@dataclass(frozen=True, slots=True)
class PriceOverride:
    model: str
    effective_from: float
    """Epoch seconds; applies to calls starting at or after it."""
    price: Price


class PriceTable:
    """Shipped prices plus overrides, answering ``price(model, at)``."""

    def __init__(self, shipped: dict[str, Price], version: str, overrides: Iterable[PriceOverride] = ()) -> None:
        self.shipped = shipped
        self.version = version
        self._history: dict[str, tuple[list[float], list[Price]]] = {}
        for override in sorted(overrides, key=lambda o: o.effective_from):
            times, prices = self._history.setdefault(canonical_model(override.model), ([], []))
            times.append(override.effective_from)
            prices.append(override.price)

    def with_overrides(self, overrides: Iterable[PriceOverride]) -> PriceTable:
        return PriceTable(self.shipped, self.version, overrides)

    def price(self, model: str, at: float) -> Price | None:
        key = canonical_model(model)
        history = self._history.get(key)
        if history is not None:
            times, prices = history
            i = bisect_right(times, at)
            if i:
                return prices[i - 1]
        return self.shipped.get(key)

    def segments(self, model: str) -> list[tuple[float, Price | None]]:
        """[(from, price), ...] in time order: the model's whole price history."""
        key = canonical_model(model)
        out: list[tuple[float, Price | None]] = [(float("-inf"), self.shipped.get(key))]
        times, prices = self._history.get(key, ([], []))
        out.extend(zip(times, prices))
        return out


def interaction_cost(item: Interaction, price: Price | None) -> float | None:
    """USD for one call. Cached tokens are part of input and reasoning part of output, as providers report."""
    if price is None:
        return None
    if item.input_tokens is None and item.output_tokens is None:
        return 0.0 if item.status == "error" else None  # a failed call without usage is not billed
    cached = min(item.cached_tokens or 0, item.input_tokens or 0)
    reasoning = min(item.reasoning_tokens or 0, item.output_tokens or 0)
    usd = (
        ((item.input_tokens or 0) - cached) * price.input
        + cached * (price.cached if price.cached is not None else price.input)
        + ((item.output_tokens or 0) - reasoning) * price.output
        + reasoning * (price.reasoning if price.reasoning is not None else price.output)
    )
    return usd / 1_000_000


@lru_cache(maxsize=1)
def shipped_table() -> PriceTable:
    data: dict[str, Any] = json.loads(resources.files("heron.pricing").joinpath("prices.json").read_text(encoding="utf-8"))
    shipped = {
        canonical_model(name): Price(input=p["input"], output=p["output"], cached=p.get("cached"), reasoning=p.get("reasoning"))
        for name, p in data["models"].items()
    }
    return PriceTable(shipped, data["version"])
