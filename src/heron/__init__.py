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
import typing

from heron.sdk.client import counters, flush, init, shutdown
from heron.sdk.context import context, last_interaction_id
from heron.sdk.instrument import feedback, log, observe
from heron.sdk.integrations import wrap

if typing.TYPE_CHECKING:
    from heron.agent import Agent


def monitor_resources(*, interval: float = 10.0, service: str | None = None, gpu: bool | None = None) -> Agent:
    """Sample this host's CPU, memory, this process's RSS and NVIDIA GPUs every ``interval`` seconds.

    Runs ``heron agent`` in a daemon thread of this process, sending to the endpoint
    and key the SDK was configured with (``heron.init`` or ``HERON_*``). Needs the
    ``agent`` extra (psutil, nvidia-ml-py). Returns the agent; ``.stop()`` ends it.
    """
    from heron.agent import start
    from heron.sdk.client import get_client

    settings = get_client().settings
    return start(endpoint=settings.endpoint, api_key=settings.api_key, interval=interval, service=service, gpu=gpu)

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
    "monitor_resources",
    "observe",
    "shutdown",
    "wrap",
]

logging.getLogger("heron").addHandler(logging.NullHandler())
