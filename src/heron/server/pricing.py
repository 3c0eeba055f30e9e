"""Each project's price table (shipped prices + its dated overrides), applied at ingest."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from heron.pricing import PriceOverride, PriceTable, interaction_cost, shipped_table
from heron.pricing.table import priced_model
from heron.schema.records import Interaction
from heron.store.base import Store


class Pricing:
    """Sets ``cost_usd`` on interactions; reloads a project's table when its prices change."""

    def __init__(self, store: Store, shipped: PriceTable | None = None) -> None:
        self.store = store
        self.shipped = shipped or shipped_table()
        self._tables: dict[str, PriceTable] = {}
        self._lock = threading.Lock()

    def table(self, project: str) -> PriceTable:
        table = self._tables.get(project)
        if table is None:
            table = self.shipped.with_overrides(self.store.price_overrides(project))
            with self._lock:
                self._tables[project] = table
        return table

    def __call__(self, interactions: Sequence[Interaction]) -> None:
        table: PriceTable | None = None
        project = None
        for item in interactions:
            if item.project != project:
                project = item.project
                table = self.table(project or "")
            assert table is not None
            item.cost_usd = interaction_cost(item, table.price(priced_model(item), float(item.start_time)))

    def add_override(self, project: str, override: PriceOverride) -> int:
        """Keep a dated price and reprice stored calls; run it in the store's writer thread."""
        table = self.table(project).with_overrides([*self.store.price_overrides(project), override])
        repriced = self.store.add_price_override(project, override, table)
        with self._lock:
            self._tables[project] = table
        return repriced
