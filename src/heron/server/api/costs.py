"""Prices and cost coverage: ``GET/POST /v1/prices``, ``GET /v1/costs/unknown-models``."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import msgspec
from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heron.errors import HeronError, ValidationError
from heron.pricing import Price, PriceOverride, canonical_model
from heron.schema.normalize import epoch_seconds
from heron.schema.records import Id, Timestamp
from heron.server.api import params
from heron.server.context import authenticate, services
from heron.server.ingest.body import SMALL_BODY_BYTES, read_body
from heron.server.ingest.decode import split_msgspec_error, too_deep
from heron.server.responses import error_response, json_response

PerMillion = Annotated[float, msgspec.Meta(ge=0, le=10_000)]
PRICE_AHEAD = 10 * 365 * 86400.0
"""How far past the server's clock a price's ``effective_from`` may lie (besides the usual clock skew)."""


class PriceIn(msgspec.Struct, kw_only=True):
    """A dated price for one model, USD per million tokens; applies to calls from ``effective_from`` on."""

    model: Id
    effective_from: Timestamp
    input: PerMillion
    output: PerMillion
    cached: PerMillion | None = None
    reasoning: PerMillion | None = None


_decode_price = msgspec.json.Decoder(PriceIn)
UNKNOWN_MODELS = params.accepted(params.WINDOW)
PRICES = params.accepted()


async def list_prices(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, PRICES)
        pricing = services(request).pricing
        table = await to_thread.run_sync(pricing.table, principal.project)
    except HeronError as exc:
        return error_response(exc)
    overrides = await to_thread.run_sync(services(request).store.price_overrides, principal.project)
    return json_response(
        {
            "version": table.version,
            "unit": "USD per 1,000,000 tokens",
            "shipped": {model: _price(price) for model, price in sorted(table.shipped.items())},
            "overrides": [{"model": o.model, "effective_from": o.effective_from, **_price(o.price)} for o in overrides],
        }
    )


def _price(price: Price) -> dict[str, float | None]:
    return {"input": price.input, "output": price.output, "cached": price.cached, "reasoning": price.reasoning}


async def set_price(request: Request) -> Response:
    svc = services(request)
    try:
        principal = authenticate(request, "write")
        body = await read_body(request, limit=SMALL_BODY_BYTES)
        try:
            item = _decode_price.decode(body)
        except msgspec.ValidationError as exc:
            raise ValidationError(*split_msgspec_error(exc)) from exc
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise ValidationError("body", f"is not valid JSON: {exc}") from exc
        except RecursionError:
            raise too_deep() from None
        override = PriceOverride(
            model=canonical_model(item.model),
            effective_from=epoch_seconds(item.effective_from, "effective_from", time.time() + PRICE_AHEAD),
            price=Price(input=item.input, output=item.output, cached=item.cached, reasoning=item.reasoning),
        )
        # Serialised with store writes: no batch is stored with a stale price afterwards.
        future = svc.pipeline.run_in_writer(lambda: svc.pricing.add_override(principal.project, override))
        repriced = await asyncio.wrap_future(future)
    except HeronError as exc:
        return error_response(exc)
    return json_response({"model": override.model, "effective_from": override.effective_from, "repriced": repriced, **_price(override.price)}, 201)


async def unknown_models(request: Request) -> Response:
    try:
        principal = authenticate(request, "read")
        params.check_known(request.query_params, UNKNOWN_MODELS)  # the window only: no filter applies here
        start, end = params.window(request.query_params, default_since=7 * 86400.0)
        rows = await to_thread.run_sync(services(request).store.unknown_cost_models, principal.project, start, end)
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, "models": rows})


routes = [
    Route("/v1/prices", list_prices, methods=["GET"]),
    Route("/v1/prices", set_price, methods=["POST"]),
    Route("/v1/costs/unknown-models", unknown_models, methods=["GET"]),
]
