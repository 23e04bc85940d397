"""The `vinculo` command: serve, migrate, demo, workspace, apikey, import and manage."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    import django

    django.setup()


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["vinculo manage", *args.rest])
    return 0


def cmd_workspace_create(args: argparse.Namespace) -> int:
    _setup_django()
    from vinculo.core.exceptions import ApplicationError
    from vinculo.core.services import workspace_create

    try:
        workspace = workspace_create(name=args.name, slug=args.slug, admin_email=args.admin)
    except ApplicationError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    print(f"workspace {workspace.slug} created; admin {args.admin}")
    return 0


def cmd_apikey_create(args: argparse.Namespace) -> int:
    _setup_django()
    from vinculo.core.exceptions import ApplicationError
    from vinculo.core.models import User, Workspace
    from vinculo.core.services import apikey_create

    workspace = Workspace.objects.filter(slug=args.workspace).first()
    user = User.objects.filter(email=args.user.strip().lower()).first()
    if workspace is None:
        print(f"error: no workspace with slug '{args.workspace}'", file=sys.stderr)
        return 2
    if user is None:
        print(f"error: no user with email '{args.user}'", file=sys.stderr)
        return 2
    try:
        _key, raw = apikey_create(workspace=workspace, user=user, name=args.name)
    except ApplicationError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    print(raw)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _setup_django()
    from vinculo.contacts.demo import demo_command

    return demo_command(args)


def cmd_worker(args: argparse.Namespace) -> int:
    _setup_django()
    from vinculo.core.worker import run_worker

    run_worker()
    return 0


def _python_child(*argv: str) -> list[str]:
    return [sys.executable, "-m", "vinculo.cli", *argv]


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the web server and/or the worker as child processes and watch them."""
    _setup_django()
    from django.conf import settings

    from vinculo.core.checks import production_problems

    problems = production_problems()
    if problems:
        for problem in problems:
            print(f"refusing to start: {problem}", file=sys.stderr)
        return 2
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    if not args.worker_only:
        from django.core.management import call_command

        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        web = [
            sys.executable,
            "-m",
            "gunicorn",
            "vinculo.wsgi:application",
            "--bind",
            f"{args.host}:{args.port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--access-logfile",
            "-" if args.access_log else "/dev/null",
            "--graceful-timeout",
            "10",
        ]
        children.append(("web", subprocess.Popen(web)))  # noqa: S603
    if not args.web_only:
        children.append(("worker", subprocess.Popen(_python_child("worker"))))  # noqa: S603
    if not args.worker_only:
        print(f"Vínculo is running on http://{args.host}:{args.port}", flush=True)

    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for _, child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        for name, child in children:
            if child.poll() is not None:
                print(
                    f"{name} process exited with status {child.returncode}; stopping",
                    file=sys.stderr,
                )
                stop(signal.SIGTERM, None)
                break
        time.sleep(0.5)
    deadline = time.monotonic() + 15
    for _, child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return 0


def _add_area_commands(sub: argparse._SubParsersAction) -> None:
    """Sub-commands that live beside the code they drive (import, export, duplicates, privacy)."""
    from vinculo.contacts.dedupe import cli as dedupe_cli
    from vinculo.contacts.exports import cli as exports_cli
    from vinculo.contacts.imports import cli as imports_cli
    from vinculo.contacts.privacy import cli as privacy_cli

    for area in (imports_cli, exports_cli, dedupe_cli, privacy_cli):
        area.add_commands(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vinculo", description="Vínculo CRM")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server and the worker")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
    serve.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))
    serve.add_argument("--access-log", action="store_true")
    only = serve.add_mutually_exclusive_group()
    only.add_argument("--web-only", action="store_true", help="web server only (scale-out)")
    only.add_argument("--worker-only", action="store_true", help="task worker only (scale-out)")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run one task worker in the foreground")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="create or update the database tables")
    migrate.add_argument("-v", "--verbosity", type=int, default=1)
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="create a workspace filled with realistic demo data")
    demo.add_argument("--workspace", default="demo")
    demo.add_argument("--contacts", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument(
        "--if-absent", action="store_true", help="do nothing if the workspace has data"
    )
    demo.set_defaults(func=cmd_demo)

    workspace = sub.add_parser("workspace", help="manage workspaces").add_subparsers(
        dest="action", required=True
    )
    ws_create = workspace.add_parser("create", help="create a workspace and its admin")
    ws_create.add_argument("--name", required=True)
    ws_create.add_argument("--slug", required=True)
    ws_create.add_argument("--admin", required=True, help="email of the first admin")
    ws_create.set_defaults(func=cmd_workspace_create)

    apikey = sub.add_parser("apikey", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    key_create = apikey.add_parser(
        "create", help="create a key; prints it alone on standard output"
    )
    key_create.add_argument("--workspace", required=True)
    key_create.add_argument("--user", required=True)
    key_create.add_argument("--name", default="CLI")
    key_create.set_defaults(func=cmd_apikey_create)

    _add_area_commands(sub)

    manage = sub.add_parser("manage", help="run a Django management command", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
