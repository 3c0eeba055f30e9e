"""The ``heron`` command: serve, demo, keys."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from importlib.metadata import version


def _serve(args: argparse.Namespace) -> int:
    from heron.server.app import create_app
    from heron.server.auth import KeyRing
    from heron.server.security import serve
    from heron.server.settings import Settings

    os.umask(0o077)  # the store, the log and the keys are the owner's alone (docs/reliability.md)
    settings = Settings.resolve(data_dir=args.data_dir, host=args.host, port=args.port)
    keys = KeyRing(settings.data_dir / "keys.json")
    if not keys.projects():
        write = keys.add(args.project, "write", args.write_key)
        read = keys.add(args.project, "read", args.read_key)
        print(f"Created project {args.project!r}." + ("" if args.write_key and args.read_key else " Keep these keys; they are shown once."))
        print(f"  write key: {write}\n  read key:  {read}")
    elif args.write_key or args.read_key:
        for scope, key in (("write", args.write_key), ("read", args.read_key)):
            if key:
                keys.add(args.project, scope, key)  # type: ignore[arg-type]
    print(f"Heron listening on http://{settings.host}:{settings.port}  (data: {settings.data_dir})", flush=True)
    serve(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level)
    return 0


def _keys(args: argparse.Namespace) -> int:
    from heron.server.auth import KeyRing
    from heron.server.settings import Settings

    settings = Settings.resolve(data_dir=args.data_dir)
    ring = KeyRing(settings.data_dir / "keys.json")
    if args.keys_command == "create":
        print(ring.add(args.project, args.scope))
    else:
        for project in ring.projects():
            print(project)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from heron.demo.run import run_demo

    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="heron", description="Heron LLM monitoring")
    parser.add_argument("--version", action="version", version=f"heron {version('heron-monitor')}")
    sub = parser.add_subparsers(dest="command", required=True)

    def server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", help="store, write-ahead log and keys (env HERON_DATA_DIR, default ./heron-data)")
        p.add_argument("--host", help="interface (env HERON_HOST, default 127.0.0.1)")
        p.add_argument("--port", type=int, help="port (env HERON_PORT, default 8787)")
        p.add_argument("--project", default="default", help="project created on first start (default: default)")
        p.add_argument("--write-key", help="use this write key for the project instead of a random one")
        p.add_argument("--read-key", help="use this read key for the project instead of a random one")
        p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])

    serve = sub.add_parser("serve", help="run the server")
    server_options(serve)
    serve.set_defaults(func=_serve)

    demo = sub.add_parser("demo", help="run the server with realistic generated traffic")
    server_options(demo)
    demo.add_argument("--days", type=float, default=7.0, help="days of history to backfill (default 7)")
    demo.add_argument("--users", type=int, default=500, help="simulated users (default 500)")
    demo.add_argument("--rate", type=float, default=0.5, help="interactions per second, backfill and live (default 0.5)")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=_demo, project="demo")

    from heron import cli_drift, cli_mapping, cli_metrics, cli_ux
    from heron.agent.cli import add_parser as add_agent_parser

    cli_metrics.add_parser(sub)
    cli_ux.add_parser(sub)
    cli_drift.add_parser(sub)
    cli_mapping.add_parser(sub)
    add_agent_parser(sub)

    keys = sub.add_parser("keys", help="manage API keys (works while the server runs)")
    keys.add_argument("--data-dir")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it")
    create.add_argument("--project", required=True)
    create.add_argument("--scope", choices=["write", "read"], required=True)
    keys_sub.add_parser("projects", help="list projects")
    keys.set_defaults(func=_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("heron").setLevel(logging.INFO)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
