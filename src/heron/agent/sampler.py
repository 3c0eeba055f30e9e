"""One round of readings, as :class:`~heron.schema.records.ResourceSample` records tagged with host and service."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from heron.agent.gpu import GpuProbe, open_gpus
from heron.agent.host import HostProbe
from heron.schema.records import ResourceSample

OFF_BY_SETTING = "GPU metrics off: turned off (--no-gpu / HERON_AGENT_GPU=false)"


class Sampler:
    """Reads host CPU and memory, one process's RSS and CPU, and every NVIDIA GPU.

    Decides once, at construction, what it can read: ``gpu_status`` and
    ``process_status`` say in one line what is on and, when off, why.
    ``nvml`` replaces the ``pynvml`` module (tests); ``gpu=False`` skips NVML.
    """

    def __init__(
        self,
        *,
        host: str,
        service: str | None = None,
        pid: int | None = None,
        gpu: bool = True,
        nvml: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.service = service
        self._clock = clock
        self._host = HostProbe(pid)
        self._gpu: GpuProbe | None
        if gpu:
            self._gpu, self.gpu_status = open_gpus(nvml)
        else:
            self._gpu, self.gpu_status = None, OFF_BY_SETTING

    @property
    def gpus(self) -> int:
        """GPUs being read (0 when GPU metrics are off)."""
        return self._gpu.count if self._gpu is not None else 0

    @property
    def process_status(self) -> str:
        return self._host.process_status

    def sample(self) -> list[ResourceSample]:
        """One reading of everything, all stamped with the same wall-clock time."""
        readings = self._host.read()
        if self._gpu is not None:
            readings.extend(self._gpu.read())
        now = self._clock()
        return [
            ResourceSample(time=now, host=self.host, service=self.service, metric=metric, device=device, value=value)
            for metric, device, value in readings
        ]

    def close(self) -> None:
        if self._gpu is not None:
            self._gpu.close()
            self._gpu = None
