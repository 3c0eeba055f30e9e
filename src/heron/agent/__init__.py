"""Host resource monitoring: CPU, memory, process RSS and NVIDIA GPUs, sent to ``POST /v1/resources``.

As a command (``heron agent --endpoint URL --api-key KEY --service NAME``) or
inside an application::

    import heron.agent
    agent = heron.agent.start(endpoint="http://127.0.0.1:8787", api_key="...", interval=10, service="api")
    agent.counters()   # sampled, sent, rejected, dropped_*, retries, batches, queued
    agent.stop()       # or let interpreter exit do it

Layout: ``host.py`` (psutil) and ``gpu.py`` (NVML) read; ``sampler.py`` turns
readings into :class:`~heron.schema.records.ResourceSample` records;
``sender.py`` buffers, gzips, posts and retries (over the SDK's transport);
``runner.py`` ticks; ``cli.py`` is ``heron agent``. Importing this package
starts nothing.
"""

from __future__ import annotations

from heron.agent.runner import Agent, start
from heron.agent.sampler import Sampler
from heron.agent.settings import AgentSettings

__all__ = ["Agent", "AgentSettings", "Sampler", "start"]
