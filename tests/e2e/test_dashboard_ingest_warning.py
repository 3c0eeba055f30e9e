"""A mapping gap is visible: the dashboard warns when more than 1% of LLM spans succeeded without a reply."""

from __future__ import annotations

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.conftest import RunningServer
from tests.e2e.test_dashboard import browser_page


def _send(server: RunningServer, n: int, *, with_reply: bool) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces", headers={"Authorization": f"Bearer {server.write_key}"})
    provider = TracerProvider(resource=Resource.create({"service.name": "gap-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("gap-test")
    for i in range(n):
        with tracer.start_as_current_span("chat") as span:
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                                 "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": f"question {i}"})
            if with_reply:
                span.set_attribute("gen_ai.completion.0.content", f"answer {i}")
    provider.shutdown()


def _otlp(server: RunningServer) -> dict[str, int]:
    return httpx.get(f"{server.url}/v1/status", headers=server.read_headers).json()["otlp"]  # type: ignore[no-any-return]


def test_the_dashboard_warns_about_replies_missing_from_spans(server: RunningServer) -> None:
    _send(server, 50, with_reply=True)
    assert _otlp(server)["ok_without_output"] == 0
    with browser_page() as (page, errors):
        page.goto(f"{server.url}/?key={server.read_key}")
        page.wait_for_selector("body[data-state=ready]")
        page.wait_for_load_state("networkidle")
        assert page.is_hidden("#ingest-warning")  # every span had its reply

        _send(server, 2, with_reply=False)  # 2 of 52: above 1%
        counts = _otlp(server)
        assert (counts["llm_spans"], counts["ok_without_output"]) == (52, 2)
        page.reload()
        page.wait_for_selector("#ingest-warning:not([hidden])")
        text = page.inner_text("#ingest-warning")
        assert "Of 52 LLM spans" in text and "3.8% succeeded without a reply" in text
        assert errors == [], errors
