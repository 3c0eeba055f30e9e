"""Heron: open-source LLM monitoring. This module is the SDK's surface.

    import heron
    heron.init(endpoint="http://127.0.0.1:8787", api_key="...")  # or HERON_ENDPOINT, HERON_API_KEY
    client = heron.wrap(openai.OpenAI())          # or @heron.observe, or heron.log(...)
    heron.feedback(heron.last_interaction_id(), thumbs="up")
    heron.counters()                              # sent, dropped_*, rejected, retries, truncated, ...

Importing Heron does nothing else: no thread, no network, and only a
``NullHandler`` on the ``heron`` logger. The worker thread starts with the
first record.
"""

from __future__ import annotations

import logging

from heron.sdk.client import counters, flush, init, shutdown
from heron.sdk.context import context, last_interaction_id
from heron.sdk.instrument import feedback, log, observe
from heron.sdk.integrations import wrap

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "context",
    "counters",
    "feedback",
    "flush",
    "init",
    "last_interaction_id",
    "log",
    "observe",
    "shutdown",
    "wrap",
]

logging.getLogger("heron").addHandler(logging.NullHandler())
