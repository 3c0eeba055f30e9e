"""The attribute mapping: ``GET /v1/mapping`` (read key) and ``PUT /v1/mapping`` (write key).

A project's mapping names, per dimension, the tag keys to read before the built-in
defaults (heron.schema.mapping). A change applies to new calls at once and to the
stored ones by re-derivation in the background: ``GET`` says how far it is.
"""

from __future__ import annotations

import json
import logging
import threading
import tomllib
from pathlib import Path
from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from heron.errors import AuthError, ConfigError, HeronError, PayloadError, ValidationError
from heron.schema.mapping import DEFAULT_MAPPING, merged, validate
from heron.server.api import params
from heron.server.context import Services, authenticate, services
from heron.server.ingest.body import SMALL_BODY_BYTES, read_body
from heron.server.ingest.decode import too_deep
from heron.server.responses import error_response, json_response
from heron.server.settings import Settings

log = logging.getLogger("heron.server.mapping")
ACCEPTED = params.accepted()
"""``GET /v1/mapping`` takes no query parameters."""


def _view(svc: Services, project: str) -> dict[str, Any]:
    own = svc.store.attribute_mappings().get(project, {})
    pending = svc.store.rederive_pending()
    done, total = svc.store.rederive_progress(project) or (0, None)
    return {
        "project": project,
        "mapping": {dim: list(keys) for dim, keys in own.items()},
        "effective": {dim: list(keys) for dim, keys in merged(own).items()},
        "defaults": {dim: list(keys) for dim, keys in DEFAULT_MAPPING.items()},
        "rederive": {
            "running": project in pending and _failure is None,
            "next_day": pending.get(project),
            "days_done": done,
            "days_total": total,
            "error": _failure,
        },
    }


async def get_mapping(request: Request) -> Response:
    """Read or write key: the mapping is configuration, and whoever sets it follows its re-derivation here."""
    try:
        try:
            principal = authenticate(request, "read")
        except AuthError:
            principal = authenticate(request, "write")
        params.check_known(request.query_params, ACCEPTED)
    except HeronError as exc:
        return error_response(exc)
    svc = services(request)
    return json_response(await to_thread.run_sync(_view, svc, principal.project))


async def put_mapping(request: Request) -> Response:
    """Replace the project's own mapping; 202 while stored calls are being re-derived, else 200."""
    svc = services(request)
    try:
        principal = authenticate(request, "write")
        body = await read_body(request, limit=SMALL_BODY_BYTES)
        try:
            raw = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadError("body", f"is not valid JSON: {exc}") from exc
        except RecursionError:
            raise too_deep() from None
        if not isinstance(raw, dict) or not isinstance(raw.get("mapping"), dict):
            raise PayloadError("mapping", 'the body must be {"mapping": {dimension: [attribute keys]}}')
        own = validate(raw["mapping"])
    except HeronError as exc:
        return error_response(exc)
    changed = await to_thread.run_sync(lambda: apply(svc, principal.project, own))
    view = await to_thread.run_sync(_view, svc, principal.project)
    return json_response({**view, "changed_calls": changed}, 202 if changed else 200)


def apply(svc: Services, project: str, own: dict[str, tuple[str, ...]]) -> int:
    """Store ``own``, use it for new calls at once, re-derive stored calls in a background thread."""
    changed = svc.store.set_attribute_mapping(project, own, rederive=False)
    svc.mappings[project] = merged(own)
    if changed:
        rederive_in_background(svc)
    return changed


_running = threading.Lock()
_failure: str | None = None
"""Why the last re-derivation stopped, until one succeeds (the pending days resume on the next start or change)."""


def rederive_in_background(svc: Services) -> None:
    """One re-derivation thread at a time; it works through every pending project."""

    def run() -> None:
        global _failure
        with _running:
            _failure = None
            try:
                svc.store.rederive(
                    progress=lambda project, done, total: log.info("re-deriving %s: %d/%d days", project, done, total)
                )
            except Exception as exc:  # logged and shown by GET /v1/mapping; the pending rows stay, so it resumes
                _failure = str(exc)
                log.exception("re-derivation failed")

    threading.Thread(target=run, name="heron-rederive", daemon=True).start()


def read_mapping_file(path: Path) -> dict[str, dict[str, tuple[str, ...]]]:
    """``{project: {dimension: [keys]}}`` from a TOML (``.toml``) or JSON file; errors name the file and field."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"HERON_ATTRIBUTE_MAPPING: cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"HERON_ATTRIBUTE_MAPPING: {path} must map project names to mappings")
    out = {}
    for project, mapping in raw.items():
        try:
            out[project] = validate(mapping)
        except ValidationError as exc:
            raise ConfigError(f"HERON_ATTRIBUTE_MAPPING: {path}: {project}.{exc.field}: {exc.message}") from exc
    return out


def load_mappings(svc: Services, settings: Settings) -> None:
    """At start: the stored mappings, then the configured file's (applied where they differ)."""
    stored = svc.store.attribute_mappings()
    for project, own in stored.items():
        svc.mappings[project] = merged(own)
    if settings.mapping_file is not None:
        for project, own in read_mapping_file(settings.mapping_file).items():
            if stored.get(project) != own:
                apply(svc, project, own)


routes = [
    Route("/v1/mapping", get_mapping, methods=["GET"]),
    Route("/v1/mapping", put_mapping, methods=["PUT"]),
]
