"""NVIDIA GPU readings through NVML (``nvidia-ml-py``, imported as ``pynvml``).

:func:`open_gpus` either returns a :class:`GpuProbe` or says in one line why
GPU metrics are off (no package, no driver, no GPU, ...): the GPU series are
then absent, never zeros. Both take the NVML module as an argument, so tests
can pass a fake one; by default it is the real ``pynvml``.

A reading a device does not support (power on some boards, say) is turned
off for that device with one log line; any other NVML error skips that
reading this time and is logged at most once a minute.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from heron.agent.host import Reading
from heron.sdk._diagnostics import RateLimitedLog

log = logging.getLogger("heron.agent")
_errors = RateLimitedLog()

OFF = "GPU metrics off: "


def _why(nvml: Any, exc: BaseException) -> str:
    for name, reason in (
        ("NVMLError_LibraryNotFound", "NVML library not found (no NVIDIA driver)"),
        ("NVMLError_DriverNotLoaded", "NVIDIA driver not loaded"),
        ("NVMLError_NoPermission", "no permission to use NVML"),
    ):
        cls = getattr(nvml, name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return reason
    return f"NVML failed to start: {exc}"


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def open_gpus(nvml: Any = None) -> tuple[GpuProbe | None, str]:
    """Start NVML and find the GPUs; returns ``(probe, status line)``, probe None when GPU metrics are off."""
    if nvml is None:
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError:
            return None, OFF + "nvidia-ml-py is not installed (pip install 'heron-monitor[agent]')"
    error: type[BaseException] = getattr(nvml, "NVMLError", Exception)
    try:
        nvml.nvmlInit()
    except error as exc:
        return None, OFF + _why(nvml, exc)
    try:
        count = int(nvml.nvmlDeviceGetCount())
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        names = [_text(nvml.nvmlDeviceGetName(h)) for h in handles]
    except error as exc:
        _shutdown(nvml)
        return None, OFF + f"NVML could not list the GPUs: {exc}"
    if not handles:
        _shutdown(nvml)
        return None, OFF + "NVML found no NVIDIA GPU"
    listing = ", ".join(f"{i}: {name}" for i, name in enumerate(names))
    return GpuProbe(nvml, handles), f"GPU metrics on: {len(handles)} NVIDIA GPU(s) ({listing})"


def _shutdown(nvml: Any) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception:
        pass


def _memory(nvml: Any, handle: Any) -> list[tuple[str, float]]:
    info = nvml.nvmlDeviceGetMemoryInfo(handle)
    return [("gpu_memory_used_bytes", float(info.used)), ("gpu_memory_total_bytes", float(info.total))]


def _utilization(nvml: Any, handle: Any) -> list[tuple[str, float]]:
    return [("gpu_utilization_percent", float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu))]


def _temperature(nvml: Any, handle: Any) -> list[tuple[str, float]]:
    sensor = getattr(nvml, "NVML_TEMPERATURE_GPU", 0)
    return [("gpu_temperature_celsius", float(nvml.nvmlDeviceGetTemperature(handle, sensor)))]


def _power(nvml: Any, handle: Any) -> list[tuple[str, float]]:
    return [("gpu_power_watts", nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)]  # NVML reports milliwatts


READINGS: dict[str, Callable[[Any, Any], list[tuple[str, float]]]] = {
    "utilization": _utilization,
    "memory": _memory,
    "temperature": _temperature,
    "power": _power,
}
"""Each NVML query and the metrics it yields; one query failing leaves the others."""


class GpuProbe:
    """Reads every GPU NVML listed at start; ``close`` shuts NVML down."""

    def __init__(self, nvml: Any, handles: list[Any]) -> None:
        self._nvml = nvml
        self._handles = handles
        self._error: type[BaseException] = getattr(nvml, "NVMLError", Exception)
        self._unsupported: set[tuple[int, str]] = set()
        self.errors = 0
        """NVML errors met while reading (unsupported readings excluded)."""

    @property
    def count(self) -> int:
        return len(self._handles)

    def read(self) -> list[Reading]:
        out: list[Reading] = []
        not_supported = getattr(self._nvml, "NVMLError_NotSupported", None)
        for index, handle in enumerate(self._handles):
            device = str(index)
            for name, query in READINGS.items():
                if (index, name) in self._unsupported:
                    continue
                try:
                    values = query(self._nvml, handle)
                except self._error as exc:
                    if isinstance(not_supported, type) and isinstance(exc, not_supported):
                        self._unsupported.add((index, name))
                        log.warning("heron agent: GPU %d does not report %s; that reading is off", index, name)
                    else:
                        self.errors += 1
                        _errors.warning(f"gpu:{index}:{name}", "heron agent: GPU %d %s reading failed: %s", index, name, exc)
                    continue
                out.extend((metric, device, value) for metric, value in values)
        return out

    def close(self) -> None:
        _shutdown(self._nvml)
