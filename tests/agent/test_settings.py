"""Agent settings: argument, then environment, then default; each documented; the CLI's dry run on this machine."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from heron.agent.settings import AGENT_SETTINGS, SETTINGS, AgentSettings
from heron.errors import ConfigError
from heron.schema.records import RESOURCE_METRICS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_argument_then_environment_then_default() -> None:
    env = {"HERON_ENDPOINT": "http://env:1/", "HERON_AGENT_SERVICE": "from-env", "HERON_AGENT_INTERVAL": "2.5"}
    s = AgentSettings.resolve(env=env, service="from-arg")
    assert (s.endpoint, s.service, s.interval) == ("http://env:1", "from-arg", 2.5)
    assert s.host == socket.gethostname() and s.gpu is True and s.max_buffer == 10_000 and s.pid is None
    assert AgentSettings.resolve(env={"HERON_AGENT_GPU": "false", "HERON_AGENT_HOST": "gpu-7"}).gpu is False
    assert AgentSettings.resolve(env={"HERON_AGENT_HOST": "gpu-7"}).host == "gpu-7"


@pytest.mark.parametrize(
    ("kwargs", "env", "message"),
    [
        ({"interval": 0.0}, {}, "interval=0.0: expected seconds, from 0.05 to 3600"),
        ({}, {"HERON_AGENT_INTERVAL": "often"}, "HERON_AGENT_INTERVAL='often'"),
        ({"service": "s" * 300}, {}, "service="),
        ({"max_buffer": 0}, {}, "max_buffer=0"),
        ({"pid": 0}, {}, "pid=0"),
        ({"colour": "red"}, {}, "unknown setting(s) ['colour']"),
    ],
)
def test_bad_settings_name_themselves(kwargs: dict[str, object], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        AgentSettings.resolve(env=env, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_every_setting_and_metric_is_documented() -> None:
    doc = (DOCS / "resources.md").read_text(encoding="utf-8")
    for setting in SETTINGS.values():
        assert f"`{setting.env}`" in doc, f"{setting.env} is missing from docs/resources.md"
    for metric in RESOURCE_METRICS:
        assert f"`{metric}`" in doc, f"{metric} is missing from docs/resources.md"
    assert set(AGENT_SETTINGS) <= set(SETTINGS)


def test_dry_run_prints_this_machines_samples() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "heron.agent.cli", "--dry-run", "--interval", "0.1", "--count", "2", "--host", "dry"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    samples = [json.loads(line) for line in result.stdout.splitlines()]
    assert {s["metric"] for s in samples} >= {"memory_used_bytes", "memory_total_bytes", "process_rss_bytes"}
    assert all(s["host"] == "dry" for s in samples)
    assert result.stderr.count("GPU metrics") == 1
