"""Process-level behaviour: nothing at import, the public surface, the exit flush, fork safety, settings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import types
import warnings

import pytest

import heron
from heron.errors import ConfigError
from heron.sdk.settings import SETTINGS, Settings
from tests.sdk.conftest import Receiver


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HERON_")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_import_starts_nothing() -> None:
    result = run_python(
        """
        import logging, sys, threading
        import heron
        assert threading.active_count() == 1, threading.enumerate()
        assert "openai" not in sys.modules
        handlers = logging.getLogger("heron").handlers
        assert [type(h).__name__ for h in handlers] == ["NullHandler"], handlers
        assert logging.getLogger().handlers == []
        print("ok")
        """
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_public_names_agree_with_all() -> None:
    members = {name: getattr(heron, name) for name in dir(heron) if not name.startswith("_")}
    public = {name for name, value in members.items() if not isinstance(value, types.ModuleType)} - {"annotations"}
    assert public == set(heron.__all__) - {"__version__"}
    assert heron.__version__ == "0.1.0"
    for name in ("init", "observe", "wrap", "log", "feedback", "flush", "shutdown", "counters", "context"):
        assert callable(getattr(heron, name))


def test_queued_records_are_delivered_at_exit(receiver: Receiver) -> None:
    result = run_python(
        """
        import heron
        heron.init(flush_interval=60)
        for i in range(5):
            heron.log(model="m", output=str(i))
        """,
        env={"HERON_ENDPOINT": receiver.url},
    )
    assert result.returncode == 0, result.stderr
    assert [i["output"] for i in receiver.items()] == [str(i) for i in range(5)]


def test_exit_with_a_hanging_server_takes_at_most_the_shutdown_timeout(hanging_endpoint: str) -> None:
    started = time.monotonic()
    result = run_python(
        "import heron\nheron.log(model='m')\n",
        env={"HERON_ENDPOINT": hanging_endpoint, "HERON_SHUTDOWN_TIMEOUT": "0.5", "HERON_TIMEOUT": "30"},
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10.0  # interpreter start included; the 30 s request timeout is not


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_buffer_and_worker(receiver: Receiver) -> None:
    heron.init(endpoint=receiver.url, flush_interval=60.0)
    heron.log(model="parent-before")  # queued, not yet sent: the child must not send it again
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+ warns about fork with threads
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            heron.log(model="child")
            stats = heron.counters()
            code = 0 if heron.flush(5.0) and stats["enqueued"] == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    heron.log(model="parent-after")
    assert heron.flush(5.0)
    assert sorted(i["model"] for i in receiver.items()) == ["child", "parent-after", "parent-before"]
    assert len({i["id"] for i in receiver.items()}) == 3
    assert heron.counters()["sent"] == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_ids_differ_between_parent_and_child() -> None:
    from heron.sdk.context import new_id

    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.write(write, new_id().encode())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert len(child) == 32 and child != new_id()


def test_settings_resolve_argument_then_environment_then_default() -> None:
    env = {"HERON_SAMPLE_RATE": "0.5", "HERON_ENDPOINT": "https://heron.example/", "HERON_ENABLED": "no"}
    settings = Settings.resolve(env, sample_rate=0.25)
    assert settings.sample_rate == 0.25  # argument
    assert settings.endpoint == "https://heron.example" and settings.enabled is False  # environment
    assert settings.max_queue == SETTINGS["max_queue"].default  # default


@pytest.mark.parametrize(
    ("env", "arguments", "names"),
    [
        ({"HERON_SAMPLE_RATE": "lots"}, {}, "HERON_SAMPLE_RATE"),
        ({"HERON_ENABLED": "maybe"}, {}, "HERON_ENABLED"),
        ({}, {"sample_rate": 2.0}, "sample_rate"),
        ({}, {"endpoint": "ftp://x"}, "endpoint"),
        ({}, {"max_batch_items": 10_001}, "max_batch_items"),
        ({}, {"colour": "blue"}, "colour"),
    ],
)
def test_bad_settings_raise_a_config_error_naming_them(
    env: dict[str, str], arguments: dict[str, object], names: str
) -> None:
    with pytest.raises(ConfigError, match=names):
        Settings.resolve(env, **arguments)


def test_every_setting_is_documented_and_prefixed() -> None:
    from dataclasses import fields

    assert {f.name for f in fields(Settings)} == set(SETTINGS)
    for name, setting in SETTINGS.items():
        assert setting.env == "HERON_" + name.upper()
        assert len(setting.doc) > 20
