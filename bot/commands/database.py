"""``open311-bot database copy --to URL``: moves the deployment's data to a PostgreSQL database.

The source is the configured database (``database_url``, or the embedded ``data_dir/open311.db``) unless
``--from`` names another. The copy is one transaction on the target (all or nothing) and goes only into
a database without data; it prints the rows copied per table. Stop the bot first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.config import load_settings


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "database", help="move the deployment's data to another database"
    )
    actions = parser.add_subparsers(dest="database_action", required=True, metavar="ACTION")
    copy = actions.add_parser(
        "copy",
        help="copy every table to an empty PostgreSQL database, in one transaction (stop the bot first)",
    )
    copy.add_argument("--to", required=True, dest="target", help="the PostgreSQL database's URL")
    copy.add_argument(
        "--from", dest="source", default=None, help="the database to copy (default: the configured one)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the CLI imports every command module to build its parser.
    from sqlalchemy.engine import make_url

    from bot.config import supported_database_url
    from bot.db_copy import copy_database, process_using_sqlite, shown
    from bot.runtime import open_database

    settings = load_settings(args.config)
    source_url = args.source or settings.effective_database_url
    try:
        target_url = supported_database_url(args.target)
        source_url = supported_database_url(source_url)
    except ValueError as exc:
        print(f"open311-bot database copy: {exc}", file=sys.stderr)
        return 2
    if make_url(target_url).get_backend_name() != "postgresql":
        print(
            "open311-bot database copy: --to names a PostgreSQL database (postgresql://user@host:5432/name); "
            "to copy a SQLite file, copy the file with the bot stopped",
            file=sys.stderr,
        )
        return 2
    source_path = (
        make_url(source_url).database if make_url(source_url).get_backend_name() == "sqlite" else None
    )
    if source_path is not None and not _exists(source_path):
        print(f"open311-bot database copy: there is no database at {source_path}", file=sys.stderr)
        return 1
    if source_path is not None and (user := process_using_sqlite(Path(source_path))) is not None:
        print(
            f"open311-bot database copy: {source_path} is open in process {user} (a running serve or worker):"
            " what it handles after the copy would be left behind; stop the bot first (systemctl stop, "
            f"Ctrl-C, or kill {user}), then copy",
            file=sys.stderr,
        )
        return 1
    if make_url(source_url) == make_url(target_url):
        print("open311-bot database copy: the source and the target are the same database", file=sys.stderr)
        return 2
    source = open_database(source_url, apply_migrations=False, pool_size=1)
    try:
        target = open_database(target_url, apply_migrations=False, pool_size=1)
        try:
            result = copy_database(source, target)
        finally:
            target.dispose()
    finally:
        source.dispose()
    width = max((len(name) for name, _ in result.counts), default=0)
    print(
        f"Copied {shown(source_url)} to {shown(target_url)} (schema {result.revision}), in one transaction:"
    )
    for name, rows in result.counts:
        print(f"  {name:<{width}}  {rows:>9}")
    total = sum(rows for _, rows in result.counts)
    print(f"{total} rows in all. Set database_url to the new database and start the bot.")
    return 0


def _exists(path: str) -> bool:
    return path == ":memory:" or Path(path).is_file()
