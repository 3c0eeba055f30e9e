"""Serve the dashboard: ``/`` is the page, ``/dashboard/static/...`` its assets, all from the package.

The assets are read once at import (a few files, ~100 KB) so a request never touches the disk
and no path from the URL is ever joined onto the filesystem. The page itself is ``no-cache``
(it names its assets with a content hash, so a new release is picked up at once); assets
are immutable for a year under that hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/dashboard/static/"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _load() -> dict[str, Asset]:
    assets: dict[str, Asset] = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.name != "index.html":
            body = path.read_bytes()
            content_type = TYPES.get(path.suffix, "application/octet-stream")
            assets[path.relative_to(STATIC).as_posix()] = Asset(body, content_type, hashlib.sha256(body).hexdigest()[:16])
    return assets


ASSETS = _load()


def _page() -> str:
    """index.html with ``{{asset:NAME}}`` replaced by the asset's hashed URL."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    for name, asset in ASSETS.items():
        html = html.replace("{{asset:" + name + "}}", f"{PREFIX}{name}?v={asset.etag}")
    return html


PAGE = _page()


async def index(request: Request) -> Response:
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                                       "Referrer-Policy": "no-referrer"})  # fmt: skip


async def asset(request: Request) -> Response:
    found = ASSETS.get(request.path_params["name"])
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    etag = f'"{found.etag}"'
    headers = {"Cache-Control": IMMUTABLE, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, headers={**headers, "Content-Type": found.content_type})


routes = [
    Route("/", index, methods=["GET", "HEAD"]),
    Route(PREFIX + "{name:path}", asset, methods=["GET", "HEAD"]),
]
