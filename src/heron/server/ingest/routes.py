"""Ingest endpoints: batch JSON for interactions and feedback, and OTLP/HTTP traces.

Each handler authenticates first, reads the body within its size and time
limits (ingest/body.py), only then takes a concurrency slot, decodes off the
event loop (in the helper processes of ingest/offload.py when there are any,
else in at most ``HERON_DECODE_THREADS`` threads, so reads never queue behind
ingest for a thread), and answers only after the accepted records are durable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heron.errors import HeronError
from heron.server.context import authenticate, services
from heron.server.ingest.body import read_body
from heron.server.ingest.decode import Decoded, decode_feedback, decode_interactions
from heron.server.ingest.offload import MappedTraces, decode_batch, map_traces
from heron.server.ingest.pipeline import decode_frame
from heron.server.responses import error_response, json_response


async def ingest_batch(request: Request, decode: Callable[..., Decoded], kind: str) -> Response:
    """Authenticate, bound, decode item by item, make durable, answer 200/207/400.

    ``kind`` says which list of the write-ahead-log frame the decoded items go to:
    ``interactions``, ``feedback`` or ``resources``.
    """
    svc = services(request)
    try:
        principal = authenticate(request, "write")
        svc.admit()
        body = await read_body(request)  # before the slot: a slow sender must not hold one

        async with svc.ingest_slot():
            args = (decode, body, request.headers.get("content-encoding"), kind, principal.project, time.time(),
                    svc.mapping_for(principal.project))  # fmt: skip
            if svc.offload is None:
                batch = await to_thread.run_sync(decode_batch, *args, True, limiter=svc.decode)
                records = batch.records or {}
            else:  # validated in a helper process, off the server's interpreter lock
                batch = await asyncio.get_running_loop().run_in_executor(svc.offload, decode_batch, *args)
                records = {}
                if batch.accepted:
                    frame = await to_thread.run_sync(decode_frame, batch.payload, limiter=svc.decode)
                    records = {"interactions": frame.interactions, "feedback": frame.feedback, "resources": frame.resources}
            if batch.accepted:
                await svc.pipeline.submit(batch.payload, **records)
    except HeronError as exc:
        svc.rejected_requests += 1
        return error_response(exc)
    svc.rejected_items += len(batch.rejected)
    result: dict[str, Any] = {"accepted": batch.accepted, "rejected": batch.rejected}
    if not batch.rejected:
        return json_response(result, 200)
    return json_response(result, 207 if batch.accepted else 400)


async def ingest_interactions(request: Request) -> Response:
    return await ingest_batch(request, decode_interactions, "interactions")


async def ingest_feedback(request: Request) -> Response:
    return await ingest_batch(request, decode_feedback, "feedback")


async def ingest_traces(request: Request) -> Response:
    """OTLP/HTTP ``/v1/traces``: protobuf or JSON, answered in the same encoding."""
    svc = services(request)
    content_type = (request.headers.get("content-type") or "application/x-protobuf").split(";")[0].strip().lower()
    as_json = content_type == "application/json"
    try:
        principal = authenticate(request, "write")
        svc.admit()
        body = await read_body(request)
        async with svc.ingest_slot():
            mapping = svc.mapping_for(principal.project)
            args = (body, request.headers.get("content-encoding"), content_type, principal.project, time.time(), mapping)
            if svc.offload is None:
                mapped = await to_thread.run_sync(map_traces, *args, limiter=svc.decode)
            else:
                mapped = await asyncio.get_running_loop().run_in_executor(svc.offload, map_traces, *args)
            if mapped.accepted:  # the records, for the store writer: never on the event loop (a 512-span frame is ~10 ms)
                frame = await to_thread.run_sync(decode_frame, mapped.payload, limiter=svc.decode)
                await svc.pipeline.submit(mapped.payload, frame.interactions, frame.feedback)
    except HeronError as exc:
        svc.rejected_requests += 1
        response = error_response(exc)
        kept = {name: response.headers[name] for name in ("retry-after", "connection") if name in response.headers}
        return _otlp_error(str(exc), response.status_code, as_json, kept)
    svc.rejected_items += len(mapped.rejected)
    svc.otlp_counts(principal.project).add(mapped.counts, skipped=mapped.skipped, rejected=len(mapped.rejected))
    return _otlp_success(mapped, as_json)


def _otlp_success(result: MappedTraces, as_json: bool) -> Response:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    message = ExportTraceServiceResponse()
    if result.rejected:
        message.partial_success.rejected_spans = len(result.rejected)
        message.partial_success.error_message = "; ".join(f"span {i}: {why}" for i, why in result.rejected[:20])
    if as_json:
        body: dict[str, Any] = {}
        if result.rejected:
            body["partialSuccess"] = {
                "rejectedSpans": str(len(result.rejected)),
                "errorMessage": message.partial_success.error_message,
            }
        return json_response(body)
    return Response(message.SerializeToString(), media_type="application/x-protobuf")


def _otlp_error(text: str, status: int, as_json: bool, headers: dict[str, str]) -> Response:
    """OTLP errors carry a google.rpc.Status; JSON clients get the same as JSON (``headers``: Retry-After, Connection)."""
    if as_json:
        return json_response({"code": status, "message": text}, status, headers)
    from google.rpc.status_pb2 import Status

    return Response(Status(code=status, message=text).SerializeToString(), status, headers, "application/x-protobuf")


routes = [
    Route("/v1/interactions", ingest_interactions, methods=["POST"]),
    Route("/v1/feedback", ingest_feedback, methods=["POST"]),
    Route("/v1/traces", ingest_traces, methods=["POST"]),
]
