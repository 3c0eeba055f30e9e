"""Heron's OTLP ingest against the real OpenAI instrumentations from the registry.

What runs: for each instrumentation below, ``driver.py`` runs in its own process
(each one patches ``openai`` globally), instruments the real ``openai`` SDK, calls
Heron's fake LLM (``heron.demo.fake_llm``: sync, async, streamed, async streamed, a
tool call plain and streamed, a 429) and exports with the real OpenTelemetry SDK
(OTLP/HTTP protobuf) to a real Heron server started here. The same spans are
captured in memory in the driver; this test reads the stored interactions back
(``GET /v1/interactions/{span id}``) and compares them, field by field, with what
the spans carry and what the ``openai`` SDK returned (see ``_fields.py``). A field
the span carries that Heron lost or changed fails the test; a field the
instrumentation does not emit is reported as "not emitted". ``/v1/status``'s
``otlp`` counters are checked against the traffic of each run.

The contract (written ahead of the mapping that meets it): ``model`` is the
requested model and ``response_model`` the one the response named; the
application's ``app.*`` span attributes and ``deployment.environment`` resource
attribute fill ``prompt_version``, ``rag_sources``, ``experiment``, ``variant`` and
``environment``, and every non-content custom attribute is kept in ``tags`` under
its own key.

The run writes the table "Conformance: instrumentation × field" in
docs/otlp-mapping.md (between ``<!-- conformance:start -->`` and
``<!-- conformance:end -->``), when every instrumentation ran or was found not
installable.

Environments: the OpenTelemetry contrib, OpenLLMetry and OpenInference packages are
in the ``dev`` extra (``.venv``). OpenLIT requires ``openai<3`` and exact
OpenTelemetry instrumentation releases, so it has its own environment,
``.venv-conformance/openlit``, built from ``requirements-openlit.txt`` by
``make conformance-venvs`` (a dependency of ``make test``; stamped, so only the
first build costs anything). If that install failed, pip's error is in
``.venv-conformance/openlit/install-failed.txt``, the test is skipped with it and the
document names it.

Run: ``make test``, or ``make conformance-venvs && .venv/bin/python -m pytest tests/conformance``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from heron.demo import fake_llm
from tests.conformance import _fields, _report
from tests.conftest import RunningServer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DOC = ROOT / "docs" / "otlp-mapping.md"
CONFORMANCE_VENVS = ROOT / ".venv-conformance"
COUNTER_KEYS = ("mapped", "skipped", "rejected", "ok_without_output", "ok_without_input", "tags_dropped")


@dataclass(frozen=True)
class Instrumentation:
    name: str
    label: str
    package: str
    content: bool
    """Whether prompts and completions are captured on spans in this mode."""
    env: dict[str, str] = field(default_factory=dict)
    venv: str | None = None
    """A separate environment under .venv-conformance/ (None: this interpreter's)."""


INSTRUMENTATIONS = (
    Instrumentation("otel_v2", "OTel contrib openai-v2, default", "opentelemetry-instrumentation-openai-v2", False),
    Instrumentation(
        "otel_v2_latest",
        "OTel contrib openai-v2, gen_ai_latest_experimental + span_and_event",
        "opentelemetry-instrumentation-openai-v2",
        True,
        {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
         "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_and_event"},
    ),
    Instrumentation("traceloop", "OpenLLMetry (Traceloop)", "opentelemetry-instrumentation-openai", True),
    Instrumentation("openlit", "OpenLIT", "openlit", True, venv="openlit"),
    Instrumentation("openinference", "OpenInference", "openinference-instrumentation-openai", True),
)
ROWS: dict[str, _report.Row] = {}


@pytest.fixture(scope="module")
def llm() -> Iterator[fake_llm.FakeLLMServer]:
    server = fake_llm.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", autouse=True)
def conformance_doc() -> Iterator[None]:
    """After the module: write the table, if every instrumentation has a row (ran, or could not be installed)."""
    ROWS.clear()
    yield
    if all(i.name in ROWS for i in INSTRUMENTATIONS):
        rows = [ROWS[i.name] for i in INSTRUMENTATIONS]
        _report.write(DOC, _report.render(rows, {i.name: i.package for i in INSTRUMENTATIONS}))


def status(server: RunningServer) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/v1/status", headers=server.read_headers, timeout=10)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def drained(server: RunningServer, timeout: float = 30.0) -> dict[str, Any]:
    """Status once everything acknowledged is stored (the driver exits only after Heron acknowledged its spans)."""
    deadline = time.monotonic() + timeout
    while True:
        now = status(server)
        ingest = now["ingest"]
        if ingest["pending"] == 0 and ingest["stored_records"] >= ingest["accepted_interactions"]:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"ingest did not drain in {timeout} s: {ingest}")
        time.sleep(0.05)


def interaction(server: RunningServer, span_id: str) -> dict[str, Any] | None:
    response = httpx.get(f"{server.url}/v1/interactions/{span_id}", headers=server.read_headers, timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def interpreter(inst: Instrumentation) -> str:
    """The Python that has the instrumentation; skips (with pip's error) where it could not be installed."""
    if inst.venv is None:
        return sys.executable
    venv = CONFORMANCE_VENVS / inst.venv
    failed = venv / "install-failed.txt"
    if failed.exists():
        log = failed.read_text(errors="replace")
        errors = [line for line in log.splitlines() if line.startswith("ERROR")]
        reason = "pip could not install it: " + " ".join((" ".join(errors) if errors else log).split()[-80:])
        ROWS[inst.name] = _report.Row(inst.name, inst.label, unavailable=reason)
        pytest.skip(f"{inst.package}: {reason} (delete {venv} and run `make conformance-venvs` to retry)")
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists() or not python.exists():
        pytest.fail(f"{venv} is not built: run `make conformance-venvs` (`make test` does)")
    return str(python)


def run_driver(inst: Instrumentation, server: RunningServer, llm: fake_llm.FakeLLMServer, tmp: Path) -> dict[str, Any]:
    out = tmp / f"{inst.name}.json"
    config = {
        "instrumentation": inst.name,
        "llm_url": llm.base_url,
        "heron_url": server.url,
        "write_key": server.write_key,
        "out": str(out),
        "conversation_id": f"conv-{inst.name}-{time.time_ns()}",
    }
    config_path = tmp / f"{inst.name}.config.json"
    config_path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SYSTEMROOT")}
    env.update(inst.env)
    done = subprocess.run(
        [interpreter(inst), str(HERE / "driver.py"), str(config_path)],
        env=env, capture_output=True, text=True, timeout=180, cwd=tmp,
    )
    assert done.returncode == 0, f"{inst.name} driver failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def expected_tags(data: dict[str, Any]) -> dict[str, str]:
    """The custom, non-content attributes the application set: each must be a tag under its own key."""
    resource = data["resource"]
    tags = {k: str(resource[k]) for k in ("service.name", "deployment.environment", "app.team")}
    tags.update({k: v for k, v in data["stamps"].items() if k.startswith("app.")})
    tags.update(data.get("openinference_metadata") or {})
    return tags


def counter_verdict(inst: Instrumentation, before: dict[str, Any], after: dict[str, Any], llm_spans: int,
                    other_spans: int, ok_calls: int) -> tuple[str, list[str]]:
    """The /v1/status ``otlp`` counters for this run's traffic: (table cell, problems)."""
    if "otlp" not in after:
        return _fields.MISSING, ["/v1/status has no `otlp` counters"]
    old, new = before.get("otlp") or {}, after["otlp"]
    absent = [k for k in COUNTER_KEYS if k not in new]
    if absent:
        return _fields.MISSING, [f"/v1/status `otlp` lacks {', '.join(absent)}"]
    mapped = {k: v - (old.get("mapped") or {}).get(k, 0) for k, v in new["mapped"].items()}
    mapped = {k: v for k, v in mapped.items() if v}
    delta = {k: new[k] - old.get(k, 0) for k in COUNTER_KEYS if k != "mapped"}
    without = 0 if inst.content else ok_calls
    want = {"mapped": llm_spans, "skipped": other_spans, "rejected": 0, "ok_without_output": without,
            "ok_without_input": without, "tags_dropped": 0}
    got = {"mapped": sum(mapped.values()), **delta}
    problems = [f"/v1/status otlp.{k}: +{got[k]} for this run, expected +{v}" for k, v in want.items() if got[k] != v]
    shown = ", ".join(f"{k} {v}" for k, v in sorted(mapped.items())) or "nothing mapped"
    cell = f"mapped {shown}; skipped {delta['skipped']}; ok_without_output {delta['ok_without_output']}"
    return (cell if not problems else f"{_fields.WRONG}: {cell}"), problems


@pytest.mark.parametrize("inst", INSTRUMENTATIONS, ids=[i.name for i in INSTRUMENTATIONS])
def test_instrumentation_round_trips_through_heron(
    inst: Instrumentation, shared_server: RunningServer, llm: fake_llm.FakeLLMServer, tmp_path: Path
) -> None:
    before = drained(shared_server)
    data = run_driver(inst, shared_server, llm, tmp_path)
    after = drained(shared_server)
    run = _fields.Run(inst.name, data, expected_tags(data))
    row = _report.Row(inst.name, inst.label, versions=data["versions"])
    ROWS[inst.name] = row
    spans = {s["span_id"]: s for s in data["spans"]}
    problems: list[str] = []
    llm_spans = other_spans = ok_calls = 0
    for case in data["cases"]:
        started = [spans[i] for i in case["span_ids"] if i in spans]
        calls = [s for s in started if _fields.is_llm_span(s)]
        others = [s for s in started if not _fields.is_llm_span(s)]
        llm_spans, other_spans = llm_spans + len(calls), other_spans + len(others)
        if len(calls) != 1:
            problems.append(f"{case['case']}: {len(calls)} LLM spans (expected one per call)")
            row.notes.append(problems[-1])
            if not calls:
                continue
        ok_calls += case["kind"] != "error"
        for extra in others:
            if interaction(shared_server, extra["span_id"]) is not None:
                problems.append(f"{case['case']}: non-LLM span {extra['name']!r} was stored as an interaction")
                row.notes.append(problems[-1])
        row.checks.extend(_fields.check_case(run, case, calls[0], interaction(shared_server, calls[0]["span_id"])))
    for check in row.checks:
        keys = row.emitted.setdefault(check.field, [])
        keys.extend(k for k in check.where if k not in keys)
    row.logs = sorted({str(r["event_name"]) for r in data["logs"] if r["event_name"]})
    rejected = [r["error_message"] for r in data["export_responses"] if r.get("rejected_spans")]
    if rejected:
        row.notes.append("Heron rejected spans: " + "; ".join(rejected))
    row.counters, counter_problems = counter_verdict(inst, before, after, llm_spans, other_spans, ok_calls)
    row.notes.extend(counter_problems)
    problems.extend(counter_problems)
    problems.extend(f"{c.field} ({c.case}): {c.state} — {c.detail}" for c in row.failures)
    assert not problems, f"{inst.label}: {len(problems)} problem(s)\n" + "\n".join(problems)
