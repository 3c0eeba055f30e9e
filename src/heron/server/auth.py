"""Per-project API keys: write keys send data, read keys query it.

Keys live hashed (SHA-256) in ``<data_dir>/keys.json``; the plaintext is shown
once, when the key is created. The file is re-read when it changes, so
``heron keys create`` works while the server runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from heron.errors import AuthError, ConfigError

Scope = Literal["write", "read"]
SCOPES: tuple[Scope, ...] = ("write", "read")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    project: str
    scope: Scope


class KeyRing:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._keys: dict[str, Principal] = {}
        self._mtime = -1.0
        self._checked = 0.0
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._keys, self._mtime = {}, -1.0
            return
        if mtime == self._mtime:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            keys = {
                entry["hash"]: Principal(project, entry["scope"])
                for project, entries in data.get("projects", {}).items()
                for entry in entries
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{self.path} is not a valid keys file: {exc}") from exc
        self._keys, self._mtime = keys, mtime

    def authenticate(self, key: str | None, scope: Scope) -> Principal:
        now = time.monotonic()
        if now - self._checked > 1.0:
            with self._lock:
                self._checked = now
                self._load()
        if not key:
            raise AuthError("missing API key: send 'Authorization: Bearer <key>' or 'X-Heron-Api-Key: <key>'")
        principal = self._keys.get(_hash(key))
        if principal is None:
            raise AuthError("unknown API key")
        if principal.scope != scope:
            raise AuthError(f"this is a {principal.scope} key; this endpoint needs a {scope} key")
        return principal

    def projects(self) -> list[str]:
        return sorted({p.project for p in self._keys.values()})

    def add(self, project: str, scope: Scope, key: str | None = None) -> str:
        """Add a key (random unless given) and persist; returns the plaintext key."""
        if scope not in SCOPES:
            raise ConfigError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        if not project or len(project) > 256:
            raise ConfigError("project name must be 1 to 256 characters")
        key = key or f"hn_{scope[0]}_{secrets.token_urlsafe(24)}"
        with self._lock:
            data: dict[str, dict[str, list[dict[str, str]]]] = {"projects": {}}
            if self.path.exists():
                data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data.setdefault("projects", {}).setdefault(project, [])
            digest = _hash(key)
            if not any(e["hash"] == digest for e in entries):
                entries.append({"hash": digest, "scope": scope, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
            self._mtime = -1.0
            self._load()
        return key
