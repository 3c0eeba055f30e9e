"""``heron agent``: sample this host every interval and send the samples to a Heron server.

Registered in ``heron.cli`` with ``add_parser(subparsers)``; also runnable on
its own as ``python -m heron.agent.cli``. Start-up lines (what is sampled; GPU
metrics on, or off and why) go to stderr once; at exit one line
``heron agent counters: {...}`` (JSON) goes to stdout. Exit status: 0, or 2
for bad settings. SIGTERM and Ctrl-C stop it after a last send.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from heron.errors import ConfigError

COUNTERS_PREFIX = "heron agent counters: "


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``agent`` command to an ``add_subparsers()`` object; its ``func`` is :func:`run`."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "agent",
        help="send this host's CPU, memory and GPU metrics to a Heron server",
        description="Sample host CPU and memory, one process's RSS and CPU, and every NVIDIA GPU (NVML) "
        "each interval, and send them to POST {endpoint}/v1/resources with a write key.",
    )
    p.add_argument("--endpoint", help="Heron server URL (env HERON_ENDPOINT, default http://127.0.0.1:8787)")
    p.add_argument("--api-key", help="a project's write key (env HERON_API_KEY)")
    p.add_argument("--host", help="host label (env HERON_AGENT_HOST, default: this machine's hostname)")
    p.add_argument("--service", help="service label, e.g. the model server's name (env HERON_AGENT_SERVICE)")
    p.add_argument("--interval", type=float, help="seconds between samples (env HERON_AGENT_INTERVAL, default 10)")
    p.add_argument("--pid", type=int, help="process whose RSS and CPU to sample (default: the agent itself)")
    p.add_argument("--no-gpu", dest="gpu", action="store_const", const=False, help="skip NVIDIA GPU metrics")
    p.add_argument("--max-buffer", type=int, help="samples kept while the server is down (env HERON_AGENT_MAX_BUFFER, default 10000)")
    p.add_argument("--count", type=int, help="stop after this many intervals (default: run until stopped)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: run until stopped)")
    p.add_argument("--dry-run", action="store_true", help="print each interval's samples as JSON lines instead of sending")
    p.set_defaults(func=run)
    return p


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the agent as ``args`` says; returns the exit status."""
    from heron.agent.runner import Agent
    from heron.agent.settings import AgentSettings

    for name in ("count", "duration"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            _stderr(f"heron agent: --{name} must be positive, got {value}")
            return 2
    try:
        settings = AgentSettings.resolve(
            endpoint=args.endpoint,
            api_key=args.api_key,
            host=args.host,
            service=args.service,
            interval=args.interval,
            max_buffer=args.max_buffer,
            gpu=args.gpu,
            pid=args.pid,
        )
        if args.dry_run:
            return _dry_run(settings, args.count, args.duration)
        if not settings.api_key:
            raise ConfigError("no API key: pass --api-key or set HERON_API_KEY to a project's write key")
        agent = Agent(settings, announce=_stderr)
    except ConfigError as exc:
        _stderr(f"heron agent: {exc}")
        return 2
    previous = _on_sigterm(lambda *_: agent.request_stop())
    try:
        try:
            counters = agent.run(count=args.count, duration=args.duration)
        except KeyboardInterrupt:
            counters = agent.stop()
    finally:
        _restore_sigterm(previous)
    print(COUNTERS_PREFIX + json.dumps(counters, sort_keys=True), flush=True)
    return 0


def _dry_run(settings: Any, count: int | None, duration: float | None) -> int:
    """Sample on the same schedule, print the samples; no server involved."""
    import msgspec

    from heron.agent.sampler import Sampler

    sampler = Sampler(host=settings.host, service=settings.service, pid=settings.pid, gpu=settings.gpu)
    _stderr(f"heron agent: {sampler.process_status}")
    _stderr(f"heron agent: {sampler.gpu_status}")
    stop = threading.Event()
    previous = _on_sigterm(lambda *_: stop.set())
    end = time.monotonic() + duration if duration is not None else None
    ticks = 0
    try:
        while not stop.wait(settings.interval):
            for sample in sampler.sample():
                sys.stdout.write(msgspec.json.encode(sample).decode() + "\n")
            sys.stdout.flush()
            ticks += 1
            if (count is not None and ticks >= count) or (end is not None and time.monotonic() >= end):
                break
    except KeyboardInterrupt:
        pass
    finally:
        _restore_sigterm(previous)
        sampler.close()
    return 0


def _on_sigterm(handler: Any) -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m heron.agent.cli``: the same options as ``heron agent``."""
    parser = argparse.ArgumentParser(prog="heron")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["agent", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
