"""CPU and memory of the host, and resident memory and CPU of one process (psutil).

Host CPU is computed from this probe's own ``cpu_times`` deltas rather than
``psutil.cpu_percent``, whose "since the last call" state is shared by the
whole process: an application that also calls it (the in-process agent runs
inside applications) would otherwise shorten our interval and its own.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from heron.errors import ConfigError

log = logging.getLogger("heron.agent")

Reading = tuple[str, str | None, float]
"""(metric, device, value); device is None for host-wide metrics."""


def _import_psutil() -> Any:
    try:
        return importlib.import_module("psutil")
    except ImportError as exc:
        raise ConfigError("the agent needs psutil: pip install 'heron-monitor[agent]'") from exc


def _busy_and_total(times: Any) -> tuple[float, float]:
    """Busy and total CPU seconds; guest time is already inside user/nice on Linux, so it is not added twice."""
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


class HostProbe:
    """Reads host CPU and memory, and the RSS and CPU of ``pid`` (default: this process)."""

    def __init__(self, pid: int | None = None) -> None:
        self._psutil = _import_psutil()
        self._last = _busy_and_total(self._psutil.cpu_times())
        target = pid if pid is not None else os.getpid()
        try:
            self._process: Any = self._psutil.Process(target)
            self._process.cpu_percent(None)  # prime: the next call measures from here
        except self._psutil.NoSuchProcess as exc:
            raise ConfigError(f"pid={target}: no such process") from exc
        except self._psutil.AccessDenied as exc:
            raise ConfigError(f"pid={target}: no permission to read this process") from exc
        self.pid = target
        self.process_status = f"process metrics on: pid {target}"

    def read(self) -> list[Reading]:
        ps = self._psutil
        busy, total = _busy_and_total(ps.cpu_times())
        d_busy, d_total = busy - self._last[0], total - self._last[1]
        self._last = (busy, total)
        out: list[Reading] = []
        if d_total > 0:
            out.append(("cpu_percent", None, min(100.0, max(0.0, 100.0 * d_busy / d_total))))
        memory = ps.virtual_memory()
        out.append(("memory_used_bytes", None, float(memory.total - memory.available)))
        out.append(("memory_total_bytes", None, float(memory.total)))
        if self._process is not None:
            try:
                with self._process.oneshot():
                    rss = self._process.memory_info().rss
                    cpu = self._process.cpu_percent(None)
            except (ps.NoSuchProcess, ps.ZombieProcess):
                self._process_off(f"process {self.pid} has exited")
            except ps.AccessDenied:
                self._process_off(f"no permission to read process {self.pid}")
            else:
                out.append(("process_rss_bytes", None, float(rss)))
                out.append(("process_cpu_percent", None, float(cpu)))
        return out

    def _process_off(self, why: str) -> None:
        self._process = None
        self.process_status = f"process metrics off: {why}"
        log.warning("heron agent: %s", self.process_status)
