"""Drift, anomaly and incident endpoints (read key).

``GET /v1/drift?current=1d&reference=7d-ago`` compares two slices of traffic:
``current`` is a duration ending now (or ``current_start``/``current_end``);
``reference`` is ``7d-ago`` (the same length, that long before), a duration
(``7d``: that long, right before the current window), or
``reference_start``/``reference_end``. ``current_<dim>=v2`` and
``reference_<dim>=v1`` narrow either side to one value of a dimension, which
compares versions: ``?reference_prompt_version=v1&current_prompt_version=v2``;
``current_tag.<key>=v`` / ``reference_tag.<key>=v`` narrow a side to a tag's value.
"""

from __future__ import annotations

import re
import time
from typing import Any

import msgspec

from anyio import to_thread
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from heron.analytics.drift import Window, drift_report, report_dict
from heron.errors import HeronError, ValidationError
from heron.server import monitor
from heron.server.api import params
from heron.server.context import authenticate, services
from heron.server.responses import error_response, json_response
from heron.stats import incidents as incident_groups
from heron.store.base import ROLLUP_DIMENSIONS

_AGO = re.compile(r"^(.+)-ago$")


_SIDES = ("reference", "current")
ACCEPTED = params.accepted(
    *((side, f"{side}_start", f"{side}_end", *(f"{side}_{dim}" for dim in ROLLUP_DIMENSIONS)) for side in _SIDES),
    "sample", "embeddings", prefixes=tuple(f"{side}_tag." for side in _SIDES),
)
"""``reference_language`` or ``current_bogus`` is refused: an ignored filter would compare a window with itself."""
SERIES = params.accepted(params.WINDOW, "feature")
ANOMALIES = params.accepted(params.WINDOW)
INCIDENTS = params.accepted(params.WINDOW, "status")
INCIDENT_STATUS = ("open", "resolved")
INCIDENT_LOOKBACK = 86400.0
"""How far before the window anomalies are read, so an incident that opened earlier is whole."""
INCIDENT_EVIDENCE = 20_000
"""Anomaly rows read at most per request (newest first)."""
BACKTEST = params.accepted(params.WINDOW, "threshold")
BACKTEST_MAX_DAYS = 31
THRESHOLD_RANGE = (2.0, 20.0)
THRESHOLD = re.compile(r"^\s*((?:[2-9]|1[0-9])(?:\.[0-9]+)?|20(?:\.0+)?)\s*$")
"""A decimal from 2 to 20: what ``threshold`` accepts (and the OpenAPI document states)."""


def _one_form(query: QueryParams, side: str) -> None:
    """``<side>`` or ``<side>_start`` (with an optional ``<side>_end``), never both, never an end alone."""
    if side in query and f"{side}_start" in query:
        raise ValidationError(side, f"give {side} or {side}_start/{side}_end, not both")
    if f"{side}_end" in query and f"{side}_start" not in query:
        raise ValidationError(f"{side}_end", f"needs {side}_start")


def windows(query: QueryParams, now: float) -> tuple[Window, Window]:
    """(reference, current) from the query; see the module docstring. Every bound lies in the range
    :func:`heron.server.api.params.check_time` allows, named by the parameter that set it."""
    for side in _SIDES:
        _one_form(query, side)
    if "current_start" in query:
        cur_start = params.timestamp(query["current_start"], "current_start")
        cur_end = params.timestamp(query["current_end"], "current_end") if "current_end" in query else now
    else:
        cur_end = now
        cur_start = params.check_time(now - params.duration(query.get("current", "1d"), "current"), "current", now=now)
    if cur_end <= cur_start:
        raise ValidationError("current_end", "must be after current_start")
    if "reference_start" in query:
        ref_start = params.timestamp(query["reference_start"], "reference_start")
        ref_end = params.timestamp(query["reference_end"], "reference_end") if "reference_end" in query else cur_start
    else:
        spec = query.get("reference", "7d")
        ago = _AGO.match(spec)
        if ago:
            back = params.duration(ago.group(1), "reference")
            ref_start, ref_end = cur_start - back, cur_end - back
        else:
            ref_end = cur_start
            ref_start = ref_end - params.duration(spec, "reference")
        params.check_time(ref_start, "reference", now=now)
    if ref_end <= ref_start:
        raise ValidationError("reference_end", "must be after reference_start")
    return Window(ref_start, ref_end, _filters(query, "reference")), Window(cur_start, cur_end, _filters(query, "current"))


SAMPLE_RANGE = (1_000, 100_000)


def _sample(query: QueryParams) -> int:
    """``sample``: rows drawn from each window (default and most 100,000; a dashboard asks for fewer, to answer fast)."""
    raw = query.get("sample")
    if raw is None:
        return SAMPLE_RANGE[1]
    try:
        n = int(raw)
    except ValueError:
        n = -1
    if not SAMPLE_RANGE[0] <= n <= SAMPLE_RANGE[1]:
        raise ValidationError("sample", f"must be an integer from {SAMPLE_RANGE[0]:,} to {SAMPLE_RANGE[1]:,}, got {raw!r}")
    return n


EMBEDDINGS = ("0", "1", "false", "true")
"""What ``embeddings`` takes (any case, blanks stripped)."""


def _embeddings(query: QueryParams) -> bool:
    """``embeddings=0`` skips the user-message embeddings; anything but 0/1 (or false/true) is refused."""
    raw = query.get("embeddings", "1").strip().lower()
    if raw not in EMBEDDINGS:
        raise ValidationError("embeddings", f"must be 1 or 0, got {query.get('embeddings')!r}")
    return raw in ("1", "true")


def _filters(query: QueryParams, side: str) -> dict[str, str]:
    """``<side>_<dim>=v`` for a rollup dimension, ``<side>_tag.<key>=v`` for a tag: every one narrows that side."""
    out = {dim: query[f"{side}_{dim}"] for dim in ROLLUP_DIMENSIONS if f"{side}_{dim}" in query}
    prefix = f"{side}_tag."
    for name, value in query.multi_items():
        if name.startswith(prefix):
            if len(name) == len(prefix):
                raise ValidationError(name, f"needs a tag key: {side}_tag.<key>=value")
            out[name[len(side) + 1 :]] = value
    return out


async def drift(request: Request) -> Response:
    try:
        project = authenticate(request, "read").project
        params.check_known(request.query_params, ACCEPTED)
        reference, current = windows(request.query_params, time.time())
        svc = services(request)
        wanted = _embeddings(request.query_params)  # checked even when enrichment is off: a bad value is a 400 either way
        embed = svc.enrichment.embed if svc.enrichment is not None and wanted else None
        limit = _sample(request.query_params)
        report = await to_thread.run_sync(lambda: drift_report(svc.store, project, reference, current, embed=embed, limit=limit))
    except HeronError as exc:
        return error_response(exc)
    return json_response({"reference": _window(reference), "current": _window(current), **report_dict(report)})


def _window(window: Window) -> dict[str, Any]:
    return {"start": window.start, "end": window.end, "filters": dict(window.filters)}


async def drift_series(request: Request) -> Response:
    try:
        project = authenticate(request, "read").project
        params.check_known(request.query_params, SERIES)
        start, end = params.window(request.query_params, default_since=7 * 86400.0)
        feature = request.query_params.get("feature") or None
        rows = await to_thread.run_sync(lambda: services(request).store.drift_results(project, start, end, feature=feature))  # type: ignore[attr-defined]
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, "results": rows})


async def anomalies(request: Request) -> Response:
    try:
        project = authenticate(request, "read").project
        params.check_known(request.query_params, ANOMALIES)
        start, end = params.window(request.query_params, default_since=86400.0)
        rows = await to_thread.run_sync(lambda: services(request).store.anomalies(project, start, end))  # type: ignore[attr-defined]
    except HeronError as exc:
        return error_response(exc)
    return json_response({"start": start, "end": end, "anomalies": rows})


async def incidents(request: Request) -> Response:
    """Anomalies grouped into incidents (heron.stats.incidents) that were active in the window, newest first."""
    try:
        project = authenticate(request, "read").project
        params.check_known(request.query_params, INCIDENTS)
        start, end = params.window(request.query_params, default_since=86400.0)
        status = (request.query_params.get("status") or "").strip().lower() or None
        if status is not None and status not in INCIDENT_STATUS:
            raise ValidationError("status", f"must be one of {', '.join(INCIDENT_STATUS)} (got {status!r})")
        store = services(request).store
        rows = await to_thread.run_sync(
            lambda: store.anomalies(project, start - INCIDENT_LOOKBACK, end, limit=INCIDENT_EVIDENCE)  # type: ignore[attr-defined]
        )
    except HeronError as exc:
        return error_response(exc)
    now = time.time()
    found = [i.as_dict(now) for i in incident_groups.group(rows) if i.last >= start]
    if status is not None:
        found = [i for i in found if i["status"] == status]
    counts = {s: sum(1 for i in found if i["status"] == s) for s in INCIDENT_STATUS}
    return json_response({"start": start, "end": end, "counts": counts, "incidents": found,
                          "truncated": len(rows) >= INCIDENT_EVIDENCE})


async def backtest(request: Request) -> Response:
    """Replay stored history through the anomaly detector (heron.server.monitor.backtest) and stream
    NDJSON: a ``{"done": d, "total": n}`` line per day replayed, then one line with the anomalies'
    count, the incidents they make and the settings used. Nothing is stored."""
    try:
        project = authenticate(request, "read").project
        params.check_known(request.query_params, BACKTEST)
        start, end = params.window(request.query_params, default_since=7 * 86400.0, max_days=BACKTEST_MAX_DAYS)
        threshold = _threshold(request.query_params)
    except HeronError as exc:
        return error_response(exc)
    store = services(request).store

    async def lines() -> Any:
        days = iter(monitor.backtest(store, project, start, end, threshold=threshold))
        found: list[dict[str, Any]] = []
        while True:
            step = await to_thread.run_sync(next, days, None)
            if step is None:
                break
            done, total, rows = step
            found += rows
            yield msgspec.json.encode({"done": done, "total": total}) + b"\n"
        now = time.time()
        incidents = [i.as_dict(now) for i in incident_groups.group(found)]
        yield msgspec.json.encode({"start": start, "end": end, "threshold": threshold or monitor.DEFAULT_THRESHOLD,
                                   "learning_s": monitor.LEARNING, "anomalies": len(found), "incidents": incidents}) + b"\n"  # fmt: skip

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def _threshold(query: QueryParams) -> float | None:
    raw = query.get("threshold")
    if raw is None or not raw.strip():
        return None
    match = THRESHOLD.fullmatch(raw)
    if match is None:
        low, high = THRESHOLD_RANGE
        raise ValidationError("threshold", f"must be a decimal number from {low:g} to {high:g} (scales of a series' noise; default 6)")
    return float(match.group(1))


routes = [
    Route("/v1/drift", drift, methods=["GET"]),
    Route("/v1/drift/series", drift_series, methods=["GET"]),
    Route("/v1/anomalies", anomalies, methods=["GET"]),
    Route("/v1/incidents", incidents, methods=["GET"]),
    Route("/v1/backtest", backtest, methods=["GET"]),
]
