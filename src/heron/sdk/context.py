"""Per-request context and interaction ids.

``heron.context(user_id=..., conversation_id=...)`` sets fields for a block of
code (a web request, a chat turn) so call sites deep inside need not pass them.
The hot path only takes a reference to the current context; merging it into a
record happens in the worker thread.

Ids are made on the application thread because the caller needs them at once
(to attach feedback) and because a client-side id makes retries idempotent.
``uuid.uuid4()`` costs ~1.7 µs; 128 bits from a private PRNG formatted as a
version-4 UUID costs ~0.3 µs. The PRNG is seeded from the OS and reseeded in a
forked child (see :func:`reseed_ids`), so parent and child never collide, and
an application's ``random.seed()`` cannot make ids repeat.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_rng = random.Random(os.urandom(32))
_getrandbits = _rng.getrandbits
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)

CONTEXT_FIELDS = ("user_id", "conversation_id", "app_version", "prompt_version", "experiment", "variant", "retry_of")
"""Interaction fields a context (or a ``wrap`` default, or a per-call ``heron=`` dict) may set; plus ``tags``."""

_context: ContextVar[Mapping[str, Any] | None] = ContextVar("heron_context", default=None)
_last_id: ContextVar[str | None] = ContextVar("heron_last_interaction_id", default=None)

current_context = _context.get
"""The fields set by enclosing :func:`context` blocks, or None; a reference, never copied."""


def new_id() -> str:
    """A random UUID4 as 32 hex digits, the same shape as ``uuid.uuid4().hex``."""
    return "%032x" % ((_getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET)


def reseed_ids() -> None:
    """Called in a forked child: a copied PRNG state would repeat the parent's ids."""
    _rng.seed(os.urandom(32))


def last_interaction_id() -> str | None:
    """Id of the interaction most recently recorded by ``observe`` or a wrapped client in this context.

    Lets an application attach :func:`heron.feedback` to an LLM call it did not
    log itself. ``heron.log`` returns its id instead.
    """
    return _last_id.get()


set_last_interaction_id = _last_id.set


@contextmanager
def context(
    *,
    user_id: str | None = None,
    conversation_id: str | None = None,
    app_version: str | None = None,
    prompt_version: str | None = None,
    experiment: str | None = None,
    variant: str | None = None,
    retry_of: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """Set interaction fields for every record made inside the block; nested blocks add to outer ones.

    ``retry_of`` marks every record made inside as a regeneration of that
    interaction, so keep such a block around the retried call alone.

    Works across threads started inside the block only if they copy the
    context (``contextvars.copy_context``), as asyncio tasks do.
    """
    outer = _context.get()
    merged: dict[str, Any] = dict(outer) if outer else {}
    given = {
        "user_id": user_id,
        "conversation_id": conversation_id,
        "app_version": app_version,
        "prompt_version": prompt_version,
        "experiment": experiment,
        "variant": variant,
        "retry_of": retry_of,
    }
    merged.update((k, v) for k, v in given.items() if v is not None)
    if tags:
        merged["tags"] = {**merged.get("tags", {}), **tags}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def apply_defaults(fields: dict[str, Any], defaults: Mapping[str, Any] | None) -> None:
    """Fill the fields still None from ``defaults``; tags merge with the record's own winning. Worker-side."""
    if not defaults:
        return
    for key, value in defaults.items():
        if key == "tags":
            if value:
                own = fields.get("tags")
                fields["tags"] = {**value, **own} if own else value
        elif fields.get(key) is None:
            fields[key] = value
