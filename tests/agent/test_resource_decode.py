"""``POST /v1/resources`` decoding: the envelope is refused whole, each sample accepted or rejected on its own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from heron.errors import PayloadError, ValidationError
from heron.schema import limits as L
from heron.server.resources import decode_resources

NOW = 1_763_596_800.0


def _sample(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"time": NOW - 1, "host": "h", "metric": "cpu_percent", "value": 12.5}
    item.update(overrides)
    return item


def _decode(samples: list[Any]) -> Any:
    return decode_resources(json.dumps({"samples": samples}).encode(), project="p", now=NOW)


def test_good_samples_are_normalised() -> None:
    decoded = _decode([_sample(), _sample(time="2025-11-19T23:59:00Z", metric="gpu_power_watts", value=300, device="0", service="vllm")])
    assert decoded.rejected == []
    first, second = decoded.items
    assert (first.project, first.time, first.value) == ("p", NOW - 1, 12.5)
    assert (second.time, second.value, second.device, second.service) == (NOW - 60, 300.0, "0", "vllm")
    assert isinstance(second.value, float)


@pytest.mark.parametrize(
    ("sample", "field"),
    [
        (_sample(metric="CPU%"), "metric"),
        (_sample(metric="x" * 65), "metric"),
        (_sample(value="high"), "value"),
        (_sample(value=101), "value"),
        (_sample(value=-1, metric="memory_used_bytes"), "value"),
        (_sample(value=-0.5, metric="gpu_power_watts"), "value"),
        (_sample(time=NOW + 3600), "time"),
        (_sample(time=(NOW - 1) * 1000), "time"),
        (_sample(time=12), "time"),
        (_sample(time="yesterday"), "time"),
        (_sample(host=""), "host"),
        (_sample(host="h" * (L.MAX_ID_CHARS + 1)), "host"),
        ({"time": NOW, "metric": "cpu_percent", "value": 1}, "item"),
        (_sample(project="someone-else"), "project"),
        ("not an object", "item"),
    ],
)
def test_each_bad_sample_is_rejected_naming_its_field(sample: Any, field: str) -> None:
    decoded = _decode([_sample(), sample, _sample()])
    assert len(decoded.items) == 2
    (rejected,) = decoded.rejected
    assert rejected["index"] == 1 and rejected["field"] == field, rejected
    assert rejected["error"].startswith(f"{field}: ")


def test_custom_metrics_are_accepted_and_may_be_negative() -> None:
    decoded = _decode([_sample(metric="queue_depth", value=3), _sample(metric="clock_skew_seconds", value=-0.2)])
    assert decoded.rejected == [] and len(decoded.items) == 2


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        (b"{nope", PayloadError, "body"),
        (b'{"items": []}', PayloadError, "samples"),
        (b'{"samples": 3}', ValidationError, "samples"),
        (json.dumps({"samples": [_sample()] * (L.MAX_BATCH_ITEMS + 1)}).encode(), ValidationError, "samples"),
    ],
)
def test_a_bad_envelope_refuses_the_request(body: bytes, error: type[Exception], field: str) -> None:
    with pytest.raises(error) as info:
        decode_resources(body, project="p", now=NOW)
    assert info.value.field == field  # type: ignore[attr-defined]
