"""What every benchmark shares: a server subprocess, the results file, the machine's name."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
WRITE_KEY = "hn_w_bench_write_key_000000"
READ_KEY = "hn_r_bench_read_key_000000"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem_gib:.0f} GiB, {cpu}, Python {platform.python_version()}"


def record(name: str, value: float, unit: str, **extra: object) -> None:
    """Merge one figure into bench/results.json under the name its issue gives."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[name] = {
        "value": round(value, 4),
        "unit": unit,
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        **extra,
    }
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"{name} = {value:.4g} {unit}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]

    def stored(self) -> int:
        response = httpx.get(f"{self.url}/v1/status", headers={"Authorization": f"Bearer {READ_KEY}"}, timeout=30)
        return int(response.json()["stored_interactions"])

    def wait_stored(self, count: int, timeout: float = 600) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stored() >= count:
                return time.perf_counter()
            time.sleep(0.02)
        raise TimeoutError(f"only {self.stored()} of {count} stored after {timeout} s")

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server and its helper processes have used so far; None off Linux."""
        return tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)


def _tree_stats(root: int) -> dict[int, list[str]]:
    """The /proc/<pid>/stat fields (after the command name) of ``root`` and its living descendants."""
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, fields in stats.items() if int(fields[1]) == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return {pid: stats[pid] for pid in tree if pid in stats}


def tree_cpu_seconds(root: int) -> float | None:
    """CPU seconds of process ``root`` and its living descendants, read from /proc (None where there is none)."""
    stats = _tree_stats(root)
    if root not in stats:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return sum((int(fields[11]) + int(fields[12])) / tick for fields in stats.values())  # utime, stime


def tree_rss_mb(root: int) -> dict[int, float]:
    """RSS (MB) of process ``root`` and of each of its living descendants, read from /proc."""
    page = os.sysconf("SC_PAGE_SIZE")
    return {pid: int(fields[21]) * page / 2**20 for pid, fields in _tree_stats(root).items()}  # rss, in pages


def start_server(data_dir: Path, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "heron.cli", "serve", "--data-dir", str(data_dir), "--port", str(port),
         "--project", "bench", "--write-key", WRITE_KEY, "--read-key", READ_KEY],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600  # a large store may migrate first
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, proc)
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")
