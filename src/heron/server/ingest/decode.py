"""Batch JSON bodies to normalised records; one bad item never costs the good ones.

Semantics (docs/ingest.md): the envelope must parse and respect the batch
limits or the whole request is refused (400/413); each item is then decoded
and validated on its own and either accepted or listed in ``rejected`` with
its index, the field and the reason.
"""

from __future__ import annotations

import re
from functools import partial
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from heron.errors import PayloadError, ValidationError
from heron.schema import limits as L
from heron.schema.mapping import DEFAULT_MAPPING, AttributeMapping
from heron.schema.normalize import normalize_feedback, normalize_interaction
from heron.schema.records import Feedback, FeedbackBatch, Interaction, InteractionBatch

_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")

T = TypeVar("T", Interaction, Feedback)


def split_msgspec_error(exc: Exception, prefix: str = "") -> tuple[str, str]:
    """(field path, message) from a msgspec error such as "Expected `int` - at `$.a[0]`"."""
    text = str(exc)
    match = _PATH.search(text)
    if not match:
        return prefix or "body", text
    path = match.group("path")
    return path or prefix or "body", text[: match.start()]


def too_deep(field: str = "body") -> PayloadError:
    """The 400 for JSON nested past what the decoder follows (msgspec and json raise RecursionError)."""
    return PayloadError(field, f"JSON is nested too deeply to parse; values may nest at most {L.MAX_NESTING} levels")


@dataclass(slots=True)
class Decoded:
    items: list[Any] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, index: int, field_name: str, message: str) -> None:
        self.rejected.append({"index": index, "field": field_name, "error": f"{field_name}: {message}"})


_interaction_batch = msgspec.json.Decoder(InteractionBatch)
_feedback_batch = msgspec.json.Decoder(FeedbackBatch)
_interaction = msgspec.json.Decoder(Interaction)
_feedback = msgspec.json.Decoder(Feedback)


def _envelope(decoder: msgspec.json.Decoder[Any], body: bytes, key: str) -> list[msgspec.Raw]:
    try:
        return getattr(decoder.decode(body), key)  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        path, message = split_msgspec_error(exc)
        if path == "body" and "missing required field" in message:
            raise PayloadError(key, f"the body must be an object with a {key!r} list") from exc
        raise ValidationError(path, message) from exc
    except msgspec.DecodeError as exc:
        raise PayloadError("body", f"is not valid JSON: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"is not valid UTF-8 (byte {exc.start})") from exc
    except RecursionError:
        raise too_deep() from None


def _literal_values(struct: type, name: str) -> list[str]:
    """The allowed values of a Literal-typed field, to list them in an error."""
    hint = typing.get_type_hints(struct).get(name)
    values: list[str] = []
    for arg in typing.get_args(hint) or ():
        values.extend(str(v) for v in typing.get_args(arg) if isinstance(v, str))
    return values


def _items(
    raws: list[msgspec.Raw],
    decoder: msgspec.json.Decoder[Any],
    normalize: Any,
    *,
    project: str,
    now: float,
) -> Decoded:
    out = Decoded()
    for index, raw in enumerate(raws):
        try:
            item = decoder.decode(raw)
            sent_project = item.project
            if sent_project is not None and sent_project != project:
                out.reject(index, "project", f"unknown project {sent_project!r} for this API key")
                continue
            out.items.append(normalize(item, project=project, now=now))
        except msgspec.ValidationError as exc:
            path, message = split_msgspec_error(exc, "item")
            if message.startswith("Invalid enum value"):
                allowed = _literal_values(decoder.type, path)
                message += f"; valid: {', '.join(allowed)}" if allowed else ""
            out.reject(index, path, message)
        except msgspec.DecodeError as exc:
            out.reject(index, "item", f"invalid JSON: {exc}")
        except UnicodeDecodeError as exc:
            out.reject(index, "item", f"is not valid UTF-8 (byte {exc.start} of the item)")
        except ValidationError as exc:
            out.reject(index, exc.field, exc.message)
        except RecursionError:
            out.reject(index, "item", too_deep("item").message)
    return out


def decode_interactions(body: bytes, *, project: str, now: float, mapping: AttributeMapping = DEFAULT_MAPPING) -> Decoded:
    """Interactions; dimensions an item leaves empty are read from its tags through ``mapping``."""
    raws = _envelope(_interaction_batch, body, "interactions")
    return _items(raws, _interaction, partial(normalize_interaction, mapping=mapping), project=project, now=now)


def decode_feedback(body: bytes, *, project: str, now: float, mapping: AttributeMapping | None = None) -> Decoded:
    raws = _envelope(_feedback_batch, body, "feedback")
    return _items(raws, _feedback, normalize_feedback, project=project, now=now)
