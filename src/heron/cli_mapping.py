"""``heron mapping show`` and ``heron mapping set FILE``: the project's attribute mapping, through the server.

``set`` sends the file's mapping and follows the re-derivation of stored calls with
a progress bar (days rebuilt), so a change on a big store is never a silent wait.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from heron.cli_drift import _common
from heron.cli_metrics import _get


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mapping = sub.add_parser("mapping", help="which span attributes fill prompt_version, experiment, user ... (docs/otlp-mapping.md)")
    mapping_sub = mapping.add_subparsers(dest="mapping_command", required=True)
    show = mapping_sub.add_parser("show", help="the project's own, effective and default mapping")
    _common(show)
    show.set_defaults(func=run_show)
    put = mapping_sub.add_parser("set", help="replace the project's mapping from a TOML or JSON file and re-derive stored calls")
    put.add_argument("file", type=Path, help='{"prompt_version": ["acme.prompt"], ...} (JSON) or the same keys in TOML')
    put.add_argument("--url", default=os.environ.get("HERON_URL", "http://127.0.0.1:8787"), help="server (env HERON_URL)")
    put.add_argument("--key", default=os.environ.get("HERON_WRITE_KEY"), help="write key (env HERON_WRITE_KEY)")
    put.add_argument("--no-wait", action="store_true", help="return once stored; do not follow the re-derivation")
    put.set_defaults(func=run_set)


def run_show(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        view = _get(args.url, args.key, "/v1/mapping", {})
    except (urllib.error.URLError, OSError) as exc:
        print(f"heron mapping: {_reason(exc)}", file=sys.stderr)
        return 1
    out.write(f"Attribute mapping of project {view['project']} (first present tag wins; the project's own keys first)\n\n")
    width = max(len(dim) for dim in view["effective"])
    for dim, keys in view["effective"].items():
        own = set(view["mapping"].get(dim, []))
        out.write(f"{dim:<{width}}  " + ", ".join(f"*{k}" if k in own else k for k in keys) + "\n")
    out.write("\n* the project's own keys\n")
    if view["rederive"]["running"]:
        out.write(f"re-deriving stored calls: {view['rederive']['days_done']}/{view['rederive']['days_total']} days\n")
    return 0


def run_set(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        text = args.file.read_text(encoding="utf-8")
        mapping = tomllib.loads(text) if args.file.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        print(f"heron mapping: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    request = urllib.request.Request(
        f"{args.url.rstrip('/')}/v1/mapping",
        data=json.dumps({"mapping": mapping}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {args.key}"} if args.key else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            result: dict[str, Any] = json.loads(response.read())
    except (urllib.error.URLError, OSError) as exc:
        print(f"heron mapping: {_reason(exc)}", file=sys.stderr)
        return 1
    out.write(f"stored; {result['changed_calls']:,} stored calls changed\n")
    if result["rederive"]["running"] and not args.no_wait:
        return _follow(args, out)
    return 0


def _follow(args: argparse.Namespace, out: TextIO) -> int:
    from tqdm import tqdm

    bar = None
    while True:
        state = _get(args.url, args.key, "/v1/mapping", {})["rederive"]
        if state.get("error"):
            print(f"heron mapping: re-derivation stopped: {state['error']} (it resumes on the next start)", file=sys.stderr)
            return 1
        if state["days_total"]:
            if bar is None:
                bar = tqdm(total=state["days_total"], desc="re-deriving", unit="day", file=out)
            bar.update(state["days_done"] - bar.n)
        if not state["running"]:
            break
        time.sleep(0.5)
    if bar is not None:
        bar.update(bar.total - bar.n)
        bar.close()
    out.write("re-derived: rollups, users and UX figures follow the new mapping\n")
    return 0


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        body = exc.read().decode(errors="replace")
        hint = " (a write key: --key or HERON_WRITE_KEY)" if exc.code in (401, 403) else ""
        return f"{exc.code} {body}{hint}"
    return str(exc)
