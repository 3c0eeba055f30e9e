"""Query parameters of the OpenAPI document, one schema per name an endpoint reads.

Each operation's parameters are its handler's :class:`~heron.server.api.params.Accepted`
(the list ``check_known`` enforces), so the document names exactly what the server
reads; a name without a schema here fails the build, not silently. Bounds come from
the constants the parsers use. Rules that tie two parameters together (``end`` after
``start``, the bucket count, one slice at a time) are stated in the descriptions:
JSON Schema cannot compare two values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from heron.server.api import params
from heron.store.base import DIMENSIONS

Schema = dict[str, Any]

DURATION = r"^\s*" + params.DURATION.pattern.strip("^$") + r"\s*$"
"""What :func:`params.duration` reads (``15m``, ``24h``, ``7d``), blanks around it allowed."""
FROM_2000 = r"^\s*([2-9][0-9]{3})-"
"""An ISO 8601 time in year 2000 (:data:`params.EARLIEST`) or later: anything earlier is refused."""
_EARLIEST = params.EARLIEST_TEXT


def query_time(now: float) -> Schema:
    """``start``, ``end`` and the other instants: epoch seconds, ISO 8601 or a duration ago, within
    [2000-01-01, now + :data:`params.AHEAD`] (``maximum`` is that bound when the document was served)."""
    days = params.AHEAD / params.DAY
    return {
        "anyOf": [
            {"type": "number", "minimum": params.EARLIEST, "maximum": math.floor(now + params.AHEAD)},
            {"type": "string", "format": "date-time", "pattern": FROM_2000},
            {"type": "string", "pattern": DURATION, "description": "That long ago."},
        ],
        "description": f"Epoch seconds, ISO 8601 (naive means UTC) or a duration ago (24h); from {_EARLIEST} "
        f"to {days:.0f} days after the server's clock.",
    }


def duration(what: str) -> Schema:
    return {"type": "string", "pattern": DURATION, "description": f"{what}; the start it reaches back to must not be before {_EARLIEST}."}


def integer(low: int, high: int, default: int | None = None) -> Schema:
    schema: Schema = {"type": "integer", "minimum": low, "maximum": high}
    if default is not None:
        schema["default"] = default
    return schema


def text(max_length: int | None = None) -> Schema:
    return {"type": "string"} if max_length is None else {"type": "string", "maxLength": max_length}


def caseless(words: Iterable[str]) -> Schema:
    """One of ``words``, any case, surrounding blanks ignored (how the flags are read); ``""`` among them allows blank."""
    words = tuple(words)
    alternatives = "|".join("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in w) for w in words if w)
    optional = "?" if "" in words else ""
    return {"type": "string", "pattern": rf"^\s*({alternatives}){optional}\s*$"}


def comma_list(names: Iterable[str]) -> Schema:
    """A comma-separated subset of ``names`` (blanks and empty entries ignored; empty means all)."""
    one = r"\s*(" + "|".join(names) + r")?\s*"
    return {"type": "string", "pattern": rf"^{one}(,{one})*$"}


def int_list(high: int, max_items: int) -> Schema:
    """``1,7,30``: at most ``max_items`` integers from 0 to ``high``."""
    one = up_to(high)
    return {"type": "string", "pattern": rf"^({one}(,{one}){{0,{max_items - 1}}})?$"}


def up_to(high: int) -> str:
    """A regular expression for the decimal integers 0..``high`` (leading zeros allowed, as ``int`` reads them)."""
    digits = str(high)
    alternatives = [rf"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        low = 1 if i == 0 and len(digits) > 1 else 0
        if int(d) > low:
            rest = len(digits) - i - 1
            alternatives.append(digits[:i] + f"[{low}-{int(d) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    alternatives.append(digits)
    return "0*(" + "|".join(alternatives) + ")"


def dimension_or_tag(dimensions: Iterable[str]) -> Schema:
    """One of ``dimensions`` or ``tag.<key>`` (any key); empty means none."""
    return {"anyOf": [{"enum": [*dimensions, ""]}, {"type": "string", "pattern": r"^tag\.[\s\S]"}]}


def common(now: float) -> dict[str, Schema]:
    """Names that mean the same everywhere they are taken."""
    instant = query_time(now)
    out: dict[str, Schema] = {"start": instant, "end": {**instant, "description": "Exclusive, after start; " + instant["description"]},
                              "since": duration("A duration ending now, instead of start")}  # fmt: skip
    out.update({d: {"type": "string", "description": f"Only rows whose {d} equals this."} for d in DIMENSIONS})
    out["q"] = {**text(params.MAX_TEXT_QUERY), "description": "Case-insensitive text in the input messages or the output."}
    return out


def parameters(accepted: params.Accepted, specific: Mapping[str, Schema], now: float, *, omit: Iterable[str] = ()) -> list[Schema]:
    """The query parameters of one operation: ``accepted``'s names (``specific`` first, then :func:`common`)
    and a ``<prefix><key>`` parameter for each prefix. ``omit``: names the handler lets through only to refuse."""
    shared = common(now)
    skip = set(omit)
    out = []
    for name in sorted(accepted.names - skip):
        schema = specific.get(name) or shared.get(name)
        if schema is None:
            raise KeyError(f"the OpenAPI document has no schema for the query parameter {name!r}")
        schema = dict(schema)
        description = schema.pop("description", None)
        param: Schema = {"name": name, "in": "query", "required": False, "schema": schema}
        if description:
            param["description"] = description
        out.append(param)
    for prefix in accepted.prefixes:
        if f"{prefix}<key>" in skip:
            continue
        out.append({
            "name": f"{prefix}<key>", "in": "query", "required": False, "schema": {"type": "string"},
            "description": f"Any key after {prefix!r}: e.g. {prefix}app.team=support (exact value of that tag).",
        })  # fmt: skip
    return out
