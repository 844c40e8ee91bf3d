"""``open311-bot serve``: runs the whole service (API, channels, operator pages, jobs) with uvicorn.

Migrations are applied on start-up (Runtime.build), so a fresh data directory just works. ``--check``
builds everything ``serve`` would (settings, database, catalog, templates, model, channels) and exits
without listening, starting channels, running jobs or changing the database (it says which migrations
``serve`` would apply; a sandbox's database is built in a scratch directory): 0 when the deployment would
start.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings, load_settings
from bot.files import make_data_dir

if TYPE_CHECKING:
    from sqlalchemy import Engine


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("serve", help="run the bot and its Open311 API")
    parser.add_argument("--host", default=None, help="interface to listen on (default: server.host)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: server.port)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the configuration (and the database, catalog, templates and model it names), then exit",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    settings = load_settings(args.config, **({"server": overrides} if overrides else {}))
    make_data_dir(settings.data_dir)
    # Imported here, not at the top: the CLI imports every command module to build its parser, and the
    # whole app would otherwise load for `open311-bot classify` too.
    from bot.app import create_app

    if args.check:
        return check(settings)

    import uvicorn

    from bot.commands.logs import configure_logging

    configure_logging(settings)
    app = create_app(settings)
    _warn_of_data_left_behind(settings, app.state.runtime.engine)
    print(
        f"open311-bot: serving on http://{settings.server.host}:{settings.server.port} "
        f"(Open311 API at {settings.open311.base_path}, data in {settings.data_dir})",
        flush=True,
    )
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        proxy_headers=True,
        log_level=settings.log_level,
    )
    return 0


def check(settings: Settings) -> int:
    """Builds what ``serve`` would, without changing the database: its schema is only read, and the
    migrations ``serve`` would apply are named (a release that is still serving from it would no longer
    start once they ran)."""
    from bot.app import create_app
    from bot.db import pending_migrations
    from bot.runtime import Runtime

    # The sandbox's database is built afresh with its test cases on every start: the check builds it in
    # a scratch directory, so data_dir/sandbox.db (a serving sandbox's) is neither created nor replaced.
    with tempfile.TemporaryDirectory(prefix="open311-bot-check-") as scratch:
        runtime = Runtime.build(settings, apply_migrations=False, sandbox_dir=Path(scratch))
        try:
            with runtime.engine.connect() as connection:
                current, pending = pending_migrations(connection)
            create_app(settings, runtime)
            _warn_of_data_left_behind(settings, runtime.engine)
        finally:
            runtime.close()
    if settings.open311.sandbox:
        cases = len(runtime.catalog.sandbox_cases)
        schema = (
            f"sandbox: serve would start {settings.data_dir / 'sandbox.db'} afresh with the catalog's "
            f"{cases} test case{'' if cases == 1 else 's'} (the production database is not opened)"
        )
    elif current is None:
        schema = "the database is empty: serve would create its schema"
    elif pending:
        schema = (
            f"the database's schema is at {current}: serve would upgrade it to {pending[-1]} "
            f"({len(pending)} migration{'s' if len(pending) > 1 else ''}, one way: back it up first)"
        )
    else:
        schema = f"the database's schema is up to date ({current})"
    print(
        f"open311-bot: the configuration is usable (serve would listen on {settings.server.host}:"
        f"{settings.server.port}); {schema}",
        flush=True,
    )
    return 0


def _warn_of_data_left_behind(settings: Settings, engine: Engine) -> None:
    """A city that set database_url without copying its SQLite data would start empty: say so (in the
    log; from --check on stderr), naming `database copy`."""
    from bot.db_copy import data_left_behind

    warning = data_left_behind(settings, engine)
    if warning:
        logging.getLogger(__name__).warning(warning)
