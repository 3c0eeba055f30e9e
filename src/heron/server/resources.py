"""Host resource samples: ``POST /v1/resources`` (write key) and ``GET /v1/resources`` (read key)."""

from __future__ import annotations

from starlette.routing import Route

routes: list[Route] = []
