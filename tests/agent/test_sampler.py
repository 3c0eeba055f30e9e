"""Sampling on this machine (real psutil, real NVML failing: no GPU here) and the GPU path with a fake NVML."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from typing import Any

import pytest

from heron.agent.gpu import GpuProbe, open_gpus
from heron.agent.sampler import OFF_BY_SETTING, Sampler
from heron.errors import ConfigError
from heron.schema.records import RESOURCE_METRICS

HOST_METRICS = {"cpu_percent", "memory_used_bytes", "memory_total_bytes", "process_rss_bytes", "process_cpu_percent"}


def _has_nvidia_gpu() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return False
    pynvml.nvmlShutdown()
    return True


no_gpu_here = pytest.mark.skipif(_has_nvidia_gpu(), reason="this machine has an NVIDIA GPU")


def test_host_series_are_present_and_plausible() -> None:
    sampler = Sampler(host="h1", service="svc")
    try:
        rounds = []
        for _ in range(3):
            time.sleep(0.05)
            rounds.append(sampler.sample())
    finally:
        sampler.close()
    for samples in rounds:
        by_metric = {s.metric: s for s in samples}
        assert set(by_metric) >= HOST_METRICS
        assert set(by_metric) <= set(RESOURCE_METRICS)
        assert all(s.host == "h1" and s.service == "svc" and s.device is None for s in samples)
        assert len({s.time for s in samples}) == 1 and abs(samples[0].time - time.time()) < 5
        assert 0.0 <= by_metric["cpu_percent"].value <= 100.0
        used, total = by_metric["memory_used_bytes"].value, by_metric["memory_total_bytes"].value
        assert 0 < used <= total
        assert 1 << 20 < by_metric["process_rss_bytes"].value < total  # this Python process
        assert by_metric["process_cpu_percent"].value >= 0.0
        assert all(isinstance(s.value, float) for s in samples)


def test_another_process_can_be_watched_and_its_exit_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(30 << 20); time.sleep(30)"])
    try:
        time.sleep(0.5)
        sampler = Sampler(host="h", pid=child.pid, gpu=False)
        rss = {s.metric: s.value for s in sampler.sample()}["process_rss_bytes"]
        assert rss > 30 << 20  # the child's 30 MB, not ours
        assert sampler.process_status == f"process metrics on: pid {child.pid}"
    finally:
        child.kill()
        child.wait()
    with caplog.at_level("WARNING", logger="heron.agent"):
        first = {s.metric for s in sampler.sample()}
        time.sleep(0.05)
        second = {s.metric for s in sampler.sample()}
    assert "process_rss_bytes" not in first | second and "cpu_percent" in second
    assert sampler.process_status == f"process metrics off: process {child.pid} has exited"
    assert sum("has exited" in r.getMessage() for r in caplog.records) == 1


def test_a_missing_process_is_a_config_error() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(ConfigError, match=f"pid={child.pid}: no such process"):
        Sampler(host="h", pid=child.pid)


@no_gpu_here
def test_without_a_gpu_the_series_are_absent_and_the_reason_is_given() -> None:
    """Real NVML, really failing: this machine has no NVIDIA driver."""
    probe, status = open_gpus()
    assert probe is None
    assert status == "GPU metrics off: NVML library not found (no NVIDIA driver)"
    sampler = Sampler(host="h")
    try:
        assert sampler.gpu_status == status and sampler.gpus == 0
        assert not [s for s in sampler.sample() if s.metric.startswith("gpu_") or s.device is not None]
    finally:
        sampler.close()


def test_gpu_can_be_turned_off() -> None:
    sampler = Sampler(host="h", gpu=False)
    assert sampler.gpu_status == OFF_BY_SETTING
    assert not [s for s in sampler.sample() if s.metric.startswith("gpu_")]


# -- the GPU path, with a fake pynvml (no GPU exists on this machine) ------------------------


class FakeNVML(types.SimpleNamespace):
    """Just what pynvml offers that the agent uses; devices are dicts of readings."""

    class NVMLError(Exception):
        pass

    class NVMLError_LibraryNotFound(NVMLError):
        pass

    class NVMLError_DriverNotLoaded(NVMLError):
        pass

    class NVMLError_NoPermission(NVMLError):
        pass

    class NVMLError_NotSupported(NVMLError):
        pass

    class NVMLError_GpuIsLost(NVMLError):
        pass

    NVML_TEMPERATURE_GPU = 0

    def __init__(self, devices: list[dict[str, Any]], init_error: Exception | None = None) -> None:
        super().__init__()
        self.devices = devices
        self.init_error = init_error
        self.shutdowns = 0

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> dict[str, Any]:
        return self.devices[i]

    def nvmlDeviceGetName(self, h: dict[str, Any]) -> bytes:
        return h["name"].encode()

    def _get(self, h: dict[str, Any], key: str) -> Any:
        value = h[key]
        if isinstance(value, Exception):
            raise value
        return value

    def nvmlDeviceGetUtilizationRates(self, h: dict[str, Any]) -> Any:
        return types.SimpleNamespace(gpu=self._get(h, "util"), memory=0)

    def nvmlDeviceGetMemoryInfo(self, h: dict[str, Any]) -> Any:
        used, total = self._get(h, "mem")
        return types.SimpleNamespace(used=used, total=total, free=total - used)

    def nvmlDeviceGetTemperature(self, h: dict[str, Any], sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return int(self._get(h, "temp"))

    def nvmlDeviceGetPowerUsage(self, h: dict[str, Any]) -> int:
        return int(self._get(h, "power_mw"))


def _device(name: str = "NVIDIA H100", **overrides: Any) -> dict[str, Any]:
    device = {"name": name, "util": 87, "mem": (60 << 30, 80 << 30), "temp": 64, "power_mw": 412_500}
    device.update(overrides)
    return device


def test_fake_gpus_give_every_series_per_device() -> None:
    nvml = FakeNVML([_device(), _device("NVIDIA L4", util=3, mem=(1 << 30, 24 << 30), temp=41, power_mw=17_000)])
    probe, status = open_gpus(nvml)
    assert isinstance(probe, GpuProbe)
    assert status == "GPU metrics on: 2 NVIDIA GPU(s) (0: NVIDIA H100, 1: NVIDIA L4)"
    readings = {(metric, device): value for metric, device, value in probe.read()}
    assert readings == {
        ("gpu_utilization_percent", "0"): 87.0,
        ("gpu_memory_used_bytes", "0"): float(60 << 30),
        ("gpu_memory_total_bytes", "0"): float(80 << 30),
        ("gpu_temperature_celsius", "0"): 64.0,
        ("gpu_power_watts", "0"): 412.5,
        ("gpu_utilization_percent", "1"): 3.0,
        ("gpu_memory_used_bytes", "1"): float(1 << 30),
        ("gpu_memory_total_bytes", "1"): float(24 << 30),
        ("gpu_temperature_celsius", "1"): 41.0,
        ("gpu_power_watts", "1"): 17.0,
    }
    assert {m for m, _ in readings} == {m for m in RESOURCE_METRICS if m.startswith("gpu_")}
    probe.close()
    assert nvml.shutdowns == 1


def test_sampler_tags_gpu_samples_with_their_device() -> None:
    sampler = Sampler(host="gpu-box", service="vllm", nvml=FakeNVML([_device()]))
    samples = sampler.sample()
    gpu = [s for s in samples if s.metric.startswith("gpu_")]
    assert len(gpu) == 5 and {s.device for s in gpu} == {"0"}
    assert all(s.host == "gpu-box" and s.service == "vllm" for s in samples)
    assert sampler.gpus == 1 and sampler.gpu_status.startswith("GPU metrics on: 1 NVIDIA GPU(s)")
    sampler.close()


@pytest.mark.parametrize(
    ("error", "why"),
    [
        ("NVMLError_LibraryNotFound", "NVML library not found (no NVIDIA driver)"),
        ("NVMLError_DriverNotLoaded", "NVIDIA driver not loaded"),
        ("NVMLError_NoPermission", "no permission to use NVML"),
        ("NVMLError", "NVML failed to start: boom"),
    ],
)
def test_each_reason_for_no_gpu_is_one_clear_line(error: str, why: str) -> None:
    nvml = FakeNVML([_device()], init_error=getattr(FakeNVML, error)("boom"))
    assert open_gpus(nvml) == (None, f"GPU metrics off: {why}")


def test_a_driver_without_gpus_says_so() -> None:
    nvml = FakeNVML([])
    assert open_gpus(nvml) == (None, "GPU metrics off: NVML found no NVIDIA GPU")
    assert nvml.shutdowns == 1


def test_unsupported_readings_are_turned_off_per_device_and_errors_skip_one_reading(caplog: pytest.LogCaptureFixture) -> None:
    nvml = FakeNVML([_device(power_mw=FakeNVML.NVMLError_NotSupported("n/a")), _device(temp=FakeNVML.NVMLError_GpuIsLost("lost"))])
    probe, _ = open_gpus(nvml)
    assert probe is not None
    with caplog.at_level("WARNING"):
        first = {(m, d) for m, d, _ in probe.read()}
        second = {(m, d) for m, d, _ in probe.read()}
    assert ("gpu_power_watts", "0") not in first | second and ("gpu_power_watts", "1") in first
    assert ("gpu_temperature_celsius", "1") not in first | second and ("gpu_temperature_celsius", "0") in first
    assert ("gpu_utilization_percent", "1") in second
    assert sum("does not report power" in r.getMessage() for r in caplog.records) == 1
    assert probe.errors == 2


def test_importing_the_agent_starts_nothing() -> None:
    code = "import threading, sys, heron.agent; assert threading.active_count() == 1; assert 'pynvml' not in sys.modules and 'psutil' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})
