"""Documented limits of what Heron accepts; the API, docs and tests read them from here."""

from __future__ import annotations

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body, before and after decompression."""
MAX_BATCH_ITEMS = 10_000
"""Most interactions (or feedback items, or spans) in one request."""
MAX_ID_CHARS = 256
"""ids, model, provider, versions, status, error type, finish reason, tag keys."""
MAX_TEXT_CHARS = 1_000_000
"""One message's content, the output, an error message or a comment."""
MAX_MESSAGES = 1_000
"""Input messages per interaction."""
MAX_TAGS = 64
MAX_TAG_VALUE_CHARS = 1_024
MAX_RAG_SOURCES = 64
MAX_TOKENS = 1_000_000_000
MAX_LATENCY_MS = 86_400_000.0
"""One day."""
MAX_FUTURE_SECONDS = 300.0
"""How far ahead of the server's clock a timestamp may be (clock skew allowance)."""
MIN_TIMESTAMP = 946_684_800.0
"""2000-01-01T00:00:00Z; anything earlier is taken for a unit mistake."""
MAX_RATING = 10.0
MAX_NESTING = 32
"""Arrays and objects nested inside one kept value (an OTLP attribute's arrayValue/kvlistValue).
A JSON body nested too deeply to parse at all is refused whole with 400 (docs/reliability.md)."""
