"""The leaderboard server: ``serve``, ``server`` (host administration), ``submit``,
``leaderboard``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from gluebench.cli.common import DATA_HELP, console, positive_float, positive_int
from gluebench.cli.suites import SUITE_HELP
from gluebench.console import score_tables as tables
from gluebench.console import suite_tables
from gluebench.errors import UsageError
from gluebench.formats.names import check_name, for_terminal, printable, unsafe_character
from gluebench.server.errors import ServerError
from gluebench.server.settings import Settings

TOKEN_ENV = "GLUEBENCH_TOKEN"
WAIT_POLL_S = 1.0
MAX_UPLOAD_MB = 1024  # PostgreSQL keeps a zip in one bytea value: at most 1 GiB


def _settings(args, **overrides):
    from gluebench.server.db import database_url  # deferred: loads sqlalchemy

    return Settings(db_url=database_url(args.db), **overrides)


def cmd_serve(args) -> int:
    from gluebench.server.serve import serve  # deferred: loads sqlalchemy

    settings = _settings(args, split=args.split, per_day=args.per_day,
                         per_month=args.per_month, concurrent=args.concurrent,
                         max_upload_bytes=args.max_upload_mb * 1024 * 1024,
                         lease_s=args.lease, n_resamples=args.resamples,
                         suite=_suite_arg(args.suite))
    return serve(settings, args.data_dir, host=args.host, port=args.port, workers=args.workers,
                 public=args.public, log=lambda line: print(line, flush=True))


def _suite_arg(text: str) -> str:
    """A built-in suite's name as given; an existing suite file as an absolute path (the
    web and worker processes load it again); anything else as given, for ``load_suite``'s
    error."""
    from gluebench.benchmark.suite_loader import list_suites

    return os.path.abspath(text) if text not in list_suites() and os.path.exists(text) else text


def _admin(args, action):
    """Run ``action(session)`` in one write transaction on a checked, migrated database."""
    from gluebench.server.health import open_database  # deferred: loads sqlalchemy

    db = open_database(args.db)
    try:
        with db.write() as session:
            return action(session)
    except ServerError as exc:  # e.g. no such submission: one line, like every CLI error
        raise UsageError("; ".join(exc.extra.get("problems", [])) or exc.message) from None
    finally:
        db.dispose()


def cmd_add_user(args) -> int:
    from gluebench.server.accounts import add_user  # deferred: loads sqlalchemy

    token = _admin(args, lambda s: add_user(s, args.name, admin=args.admin))
    kind = "admin" if args.admin else "user"
    print(f"created {kind} {args.name}; API token (shown once, keep it secret):", file=sys.stderr)
    print(token)
    return 0


def cmd_disable_user(args) -> int:
    from gluebench.server.accounts import set_disabled  # deferred: loads sqlalchemy

    _admin(args, lambda s: set_disabled(s, args.name, not args.enable))
    print(f"user {printable(args.name)} {'enabled' if args.enable else 'disabled'}")
    return 0


def cmd_hide(args) -> int:
    from gluebench.server.admin import set_hidden  # deferred: loads sqlalchemy

    _admin(args, lambda s: set_hidden(s, args.id, not args.show))
    print(f"submission {args.id} {'shown' if args.show else 'hidden'}")
    return 0


def cmd_flag(args) -> int:
    from gluebench.server.admin import set_flag  # deferred: loads sqlalchemy

    _admin(args, lambda s: set_flag(s, args.id, None if args.clear else args.reason))
    print(f"submission {args.id} " + ("unflagged" if args.clear else f"flagged: {args.reason}"))
    return 0


def cmd_users(args) -> int:
    from gluebench.server.admin import list_users  # deferred: loads sqlalchemy

    for u in _admin(args, list_users):
        marks = [m for m, on in (("admin", u["admin"]), ("disabled", u["disabled"])) if on]
        print(printable(u["name"]) + (f" ({', '.join(marks)})" if marks else ""))
    return 0


def _token(args) -> str:
    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        raise UsageError(f"no token: pass --token TOKEN or set {TOKEN_ENV}")
    return token


def cmd_submit(args) -> int:
    from gluebench.server.client import Client  # deferred: loads pydantic

    client = Client(args.server, _token(args))
    fields = {"name": args.name, "description": args.description or "", "url": args.url or "",
              "params": args.params or "", "public": "true" if args.public else "false"}
    sub = client.submit(args.zip, fields)
    print(f"submission {sub['id']} accepted: {sub['state']}, position {sub['queue_position']} "
          f"in the queue; follow it at {client.base}/entry/{sub['id']}")
    while args.wait and sub["state"] in ("queued", "running"):
        time.sleep(WAIT_POLL_S)
        sub = client.submission(sub["id"])
    if args.wait:
        return _print_outcome(sub, client)
    return 0


def _print_outcome(sub: dict, client) -> int:
    if sub["state"] == "failed" or sub["results"] is None:
        why = printable(sub["error"] or "the server sent no results")
        print(f"submission {sub['id']} failed: {why}", file=sys.stderr)
        return 2
    results = sub["results"]
    if results.get("suite") is None:
        console().print(tables.details(results))
        return 0
    board = client.board_of(results)  # a suite's board: its columns, from the server
    console().print(suite_tables.details_table(for_terminal(board["title"]), board["metrics"],
                                               results))
    return 0


def cmd_leaderboard(args) -> int:
    from gluebench.server.client import Client  # deferred: loads pydantic

    client = Client(args.server, args.token or os.environ.get(TOKEN_ENV))
    answer, board = client.leaderboard()
    if args.json:
        print(json.dumps(answer, indent=2))  # ASCII: other people's names print as \uXXXX
        return 0
    rows = [(for_terminal(f"{r['rank']}{'=' if r['tied_above'] else ''}. {r['model']} "
                          f"({r['user']})"), r) for r in board["rows"]]
    if not rows:
        print(f"no entries yet on {client.base}")
        return 0
    title = for_terminal(f"{client.base} ({board['split']} labels)")
    if board["suite"] is None:
        console().print(tables.leaderboard(rows, title=title))
    else:  # another suite's board: columns and aggregate as the server sent them
        console().print(suite_tables.board_table(for_terminal(board["title"]), board["metrics"],
                                                 board["aggregate"], rows, heading=title))
    return 0


def _db_flag(p) -> None:
    p.add_argument("--db", required=True, metavar="PATH_OR_URL",
                   help="SQLite file, or postgresql://USER@HOST/DB")


def _action(admin, name: str, help_text: str, func):
    p = admin.add_parser(name, help=help_text)
    _db_flag(p)
    p.set_defaults(func=func)
    return p


def register(sub) -> None:
    p = sub.add_parser("serve", help="host a leaderboard: web app and scoring workers")
    p.add_argument("--data-dir", required=True, help=DATA_HELP + " holding the gold labels")
    _db_flag(p)
    p.add_argument("--split", default="test", choices=["test", "dev"],
                   help="score against the host's test labels (default) or dev labels")
    p.add_argument("--suite", default="glue", metavar="NAME|PATH",
                   help=SUITE_HELP + " (default glue); one suite per server and database")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    p.add_argument("--port", type=port_number, default=8000, help="1-65535 (default 8000)")
    p.add_argument("--workers", type=int, default=1, choices=range(0, 33), metavar="N",
                   help="scoring worker processes (default 1)")
    p.add_argument("--public", action="store_true",
                   help="allow listening on an address other machines can reach")
    p.add_argument("--per-day", type=positive_int, default=2, help="quota (default 2)")
    p.add_argument("--per-month", type=positive_int, default=10, help="quota (default 10)")
    p.add_argument("--concurrent", type=positive_int, default=3,
                   help="queued or running at once per user (default 3)")
    p.add_argument("--max-upload-mb", type=upload_mb, default=32,
                   help=f"the largest upload, 1-{MAX_UPLOAD_MB} (default 32)")
    p.add_argument("--lease", type=positive_float, default=30.0, metavar="SECONDS",
                   help="a scoring job's lease, a positive number of seconds (default 30); a "
                        "dead worker's job is retried after it")
    p.add_argument("--resamples", type=positive_int, default=1000, metavar="N",
                   help="bootstrap resamples for CIs and ties (default 1000)")
    p.set_defaults(func=cmd_serve)

    server = sub.add_parser("server", help="administer a leaderboard's database")
    admin = server.add_subparsers(dest="server_command", required=True, metavar="ACTION")
    p = _action(admin, "add-user", "create a user and print its API token once", cmd_add_user)
    p.add_argument("name")
    p.add_argument("--admin", action="store_true")
    p = _action(admin, "disable-user", "disable (or --enable) a user's token", cmd_disable_user)
    p.add_argument("name")
    p.add_argument("--enable", action="store_true")
    _action(admin, "users", "list users", cmd_users)
    p = _action(admin, "hide", "hide (or --show) an entry", cmd_hide)
    p.add_argument("id", type=positive_int)
    p.add_argument("--show", action="store_true")
    p = _action(admin, "flag", "flag an entry with a reason shown on the page", cmd_flag)
    p.add_argument("id", type=positive_int)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--reason")
    group.add_argument("--clear", action="store_true")

    p = sub.add_parser("submit", help="upload a submission zip to a leaderboard server")
    p.add_argument("zip")
    p.add_argument("--server", required=True, metavar="URL")
    p.add_argument("--token", help=f"API token (default: ${TOKEN_ENV})")
    p.add_argument("--name", required=True, metavar="MODEL", type=model_name,
                   help="the model's name on the leaderboard (no control or bidirectional "
                        "formatting characters)")
    p.add_argument("--description", type=submitted_text(allow="\n\r\t"))
    p.add_argument("--url", type=submitted_text(), help="paper or code")
    p.add_argument("--params", help="parameter count, e.g. 110M")
    p.add_argument("--public", action="store_true", help="show it on the public leaderboard")
    p.add_argument("--wait", action="store_true", help="wait for the scores and print them")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("leaderboard", help="print a leaderboard server's table")
    p.add_argument("--server", required=True, metavar="URL")
    p.add_argument("--token", help=f"API token, to include your private entries "
                   f"(default: ${TOKEN_ENV})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_leaderboard)


def port_number(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 1-65535, got {value}")
    return value


def upload_mb(text: str) -> int:
    value = positive_int(text)
    if value > MAX_UPLOAD_MB:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_UPLOAD_MB} (MiB), got {value}")
    return value


def model_name(text: str) -> str:
    """A submission's name, checked as the server checks it (before anything is sent)."""
    try:
        return check_name(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def submitted_text(allow: str = ""):
    """An argparse type for --description (``allow`` its newlines and tabs) or --url:
    refused here, in one line, when the server would refuse it."""

    def check(text: str) -> str:
        problem = unsafe_character(text, allow=allow)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return text

    return check
