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


def _descendants(root: int, parents: dict[int, int]) -> set[int]:
    """``root`` and every process below it, given each process's parent."""
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return tree


def tree_cpu_seconds(root: int) -> float | None:
    """CPU seconds of process ``root`` and its living descendants, read from /proc (None where there is none)."""
    proc = Path("/proc")
    if not (proc / str(root) / "stat").exists():
        return None
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return sum(times.get(pid, 0.0) for pid in _descendants(root, parents))


def tree_rss_mb(root: int) -> dict[int, float]:
    """VmRSS (MB) of process ``root`` and of each of its living descendants, read from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # rss, in pages
    return {pid: rss.get(pid, 0) / 2**20 for pid in _descendants(root, parents)}


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
