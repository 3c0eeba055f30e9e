"""Token prices: a shipped, versioned table plus dated per-project overrides; cost of an interaction."""

from __future__ import annotations

from heron.pricing.table import Price, PriceOverride, PriceTable, canonical_model, interaction_cost, shipped_table

__all__ = ["Price", "PriceOverride", "PriceTable", "canonical_model", "interaction_cost", "shipped_table"]
