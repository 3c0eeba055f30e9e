"""``retry_of``: validated like the other ids, by msgspec and ``normalize``, from JSON and from OTLP spans."""

from __future__ import annotations

import msgspec
import pytest

from heron.errors import ValidationError
from heron.schema import limits as L
from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction
from tests.schema.test_otlp import NOW, T0, Otel

BASE = {"model": "gpt-4o", "start_time": NOW - 5.0}


def _normalized(**fields: object) -> Interaction:
    record = msgspec.convert({**BASE, **fields}, Interaction)
    return normalize_interaction(record, project="p", now=NOW)


def test_retry_of_is_optional_and_kept() -> None:
    assert _normalized().retry_of is None
    assert _normalized(id="second", retry_of="first").retry_of == "first"
    assert _normalized(retry_of="").retry_of is None  # an empty link points nowhere


def test_an_overlong_retry_of_is_rejected_naming_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match=rf"length <= {L.MAX_ID_CHARS} - at `\$.retry_of`"):
        _normalized(retry_of="x" * (L.MAX_ID_CHARS + 1))
    assert _normalized(retry_of="x" * L.MAX_ID_CHARS).retry_of == "x" * L.MAX_ID_CHARS


def test_an_interaction_cannot_retry_itself() -> None:
    with pytest.raises(ValidationError) as caught:
        _normalized(id="same", retry_of="same")
    assert caught.value.field == "retry_of"


def test_the_wal_encoding_round_trips_and_omits_an_absent_link() -> None:
    linked = _normalized(id="b", retry_of="a")
    assert msgspec.json.decode(msgspec.json.encode(linked), type=Interaction).retry_of == "a"
    assert b"retry_of" not in msgspec.json.encode(_normalized(id="a"))


@pytest.fixture
def otel() -> Otel:
    return Otel({"service.name": "support-bot"})


def test_otlp_attribute_heron_retry_of_is_mapped(otel: Otel) -> None:
    otel.span("chat", {"gen_ai.request.model": "gpt-4o", "heron.retry_of": "0123456789abcdef"})
    otel.span("chat", {"gen_ai.request.model": "gpt-4o"})
    linked, plain = otel.result().interactions
    assert linked.retry_of == "0123456789abcdef"
    assert plain.retry_of is None


def test_otlp_json_path_maps_heron_retry_of(otel: Otel) -> None:
    from google.protobuf.json_format import MessageToJson
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from heron.schema.otlp import decode_request, spans_to_interactions

    otel.span("chat", {"gen_ai.request.model": "gpt-4o", "heron.retry_of": "prev-id"})
    body = MessageToJson(encode_spans(otel.exporter.get_finished_spans())).encode()
    (item,) = spans_to_interactions(decode_request(body, "application/json"), project="p", now=NOW).interactions
    assert item.retry_of == "prev-id"


def test_otlp_bad_retry_of_is_rejected_naming_the_attribute(otel: Otel) -> None:
    otel.span("long", {"gen_ai.request.model": "gpt-4o", "heron.retry_of": "r" * 300})
    own = otel.tracer.start_span("self", start_time=T0, attributes={"gen_ai.request.model": "gpt-4o"})
    own.set_attribute("heron.retry_of", f"{own.get_span_context().span_id:016x}")  # the span's own id
    own.end(end_time=T0 + 1_000_000)
    otel.span("fine", {"gen_ai.request.model": "gpt-4o", "heron.retry_of": "abc"})
    result = otel.result()
    assert [i.retry_of for i in result.interactions] == ["abc"]
    rejected = dict(result.rejected)
    assert rejected[0] == f"heron.retry_of: Expected `str` of length <= {L.MAX_ID_CHARS}"
    assert rejected[1].startswith("heron.retry_of: is the interaction's own id")
