"""``open311-bot serve``: runs the whole service (API, channels, operator pages, jobs) with uvicorn.

Migrations are applied on start-up (Runtime.build), so a fresh data directory just works; the configuration
is checked first as ``--check`` checks it, so every problem is named in one run (exit 2 for a configuration
error, 1 when only the database or the port cannot be had), and a port already in use is refused before
start-up. ``--check`` checks everything ``serve`` would build (settings, data_dir,
database, catalog, templates, model, channels), each part on its own so every problem is named in one run,
and exits without listening, starting channels, running jobs or writing anything (it says which
migrations ``serve`` would apply and what it would create; a sandbox's database is built in a scratch
directory): 0 when the deployment would start, 2 for a configuration error, 1 when only the database
cannot be reached.
"""

from __future__ import annotations

import argparse
import errno
import logging
import re
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.config import ConfigError, Settings, StartupError, check_channel_settings, load_settings
from bot.files import data_dir_problem, make_data_dir, warn_if_others_can_read

if TYPE_CHECKING:
    from sqlalchemy import Engine

T = TypeVar("T")


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
    if args.check:
        return check(settings)
    # Every problem in one run, as --check names them (create_app stops at the first): a deployer fixed one
    # a round. Before start-up (migrations, channels, jobs): a second serve on the same port ran all of it,
    # said "serving on", and only then failed to bind.
    findings = Findings()
    find_problems(settings, findings, [], warn_if_readable=False)  # make_data_dir warns
    findings.collect(
        lambda: refuse_a_port_in_use(
            settings, port_given=args.port is not None, host_given=args.host is not None
        )
    )
    if findings.errors or findings.failures:
        return findings.print()
    make_data_dir(settings)
    # Imported here, not at the top: the CLI imports every command module to build its parser, and the
    # whole app would otherwise load for `open311-bot classify` too.
    import uvicorn

    from bot.app import create_app
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


def refuse_a_port_in_use(settings: Settings, *, port_given: bool, host_given: bool) -> None:
    """A StartupError, in one line naming the port and where to change it, when server.host:server.port
    cannot be listened on. The socket is bound as uvicorn binds it (the family from the host's spelling,
    SO_REUSEADDR: a port whose last connections are closing is free) and closed again at once."""
    host, port = settings.server.host, settings.server.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family=family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            where = "--port (or server.port)" if port_given else settings.written_as("server.port")
            advice = (
                f"the port is in use (another serve?); stop what listens there or choose another with {where}"
            )
        else:
            where = "--host (or server.host)" if host_given else settings.written_as("server.host")
            advice = f"{exc.strerror or exc}; check {where} and {settings.written_as('server.port')}"
        raise StartupError(f"cannot listen on {host}:{port}: {advice}") from exc


@dataclass
class Findings:
    """What ``serve --check`` found: every problem, so a deployer fixes them in one round."""

    errors: list[str] = field(default_factory=list)  # configuration errors: the key and the reason
    failures: list[str] = field(default_factory=list)  # what cannot be reached (the database)
    unchecked: list[str] = field(default_factory=list)  # what depends on a part that failed

    def collect(self, step: Callable[[], T]) -> T | None:
        """Runs one check; its ConfigError or StartupError is noted, and the check goes on."""
        try:
            return step()
        except ConfigError as exc:
            self.errors.extend(_NEXT_KEY.split(str(exc)))
        except StartupError as exc:
            self.failures.append(str(exc))
        return None

    def print(self) -> int:
        for error in self.errors:
            print(f"open311-bot: configuration error: {error}", file=sys.stderr, flush=True)
        for failure in self.failures:
            print(f"open311-bot: {failure}", file=sys.stderr, flush=True)
        for part in self.unchecked:
            print(f"open311-bot: not checked: {part}", file=sys.stderr, flush=True)
        return 2 if self.errors else 1


# Where a message listing several keys' problems ("twilio.account_sid: not set; twilio.auth_token: ...")
# starts the next key's: each is printed on its own line.
_NEXT_KEY = re.compile(r"; (?=[a-z0-9_]+(?:\.[a-z0-9_]+)+(?: \(from [A-Z0-9_]+\))?: )")


def check(settings: Settings) -> int:
    """Checks what ``serve`` would build, each part on its own so that every problem is named in one run,
    and changes nothing: no data_dir or database file is made (what serve would make is said), the
    schema is only read, and the migrations ``serve`` would apply are named (a release that is still
    serving from it would no longer start once they ran)."""
    findings = Findings()
    to_create: list[str] = []
    schema = find_problems(settings, findings, to_create, warn_if_readable=True)
    if findings.errors or findings.failures:
        return findings.print()
    # Everything else create_app checks (the channels and parts it mounts), on the real database unless
    # serve would create it: then on a scratch one, as a sandbox's.
    with tempfile.TemporaryDirectory(prefix="open311-bot-check-") as scratch:
        scratch_url = (
            f"sqlite:///{Path(scratch) / 'open311.db'}" if _database_file_missing(settings) else None
        )
        findings.collect(lambda: _build_as_serve_would(settings, Path(scratch), scratch_url))
    if findings.errors or findings.failures:
        return findings.print()
    created = f"; serve would create {' and '.join(to_create)}" if to_create else ""
    print(
        f"open311-bot: the configuration is usable (serve would listen on {settings.server.host}:"
        f"{settings.server.port}); {schema}{created}",
        flush=True,
    )
    return 0


def find_problems(
    settings: Settings, findings: Findings, to_create: list[str], *, warn_if_readable: bool
) -> str:
    """The checks of what serve builds that need nothing built or started (data_dir, the channels'
    settings, the templates, the catalog, the model and geocoder, the database), each on its own, so every
    problem is noted in ``findings``; ``serve --check`` and ``serve`` both run them. Nothing is changed:
    what serve would create is added to ``to_create``. Returns what serve would do to the database's
    schema ("" when it could not be read)."""
    from bot.app import check_templates, check_understanding
    from bot.runtime import configured_catalog

    data_dir = settings.data_dir
    problem = data_dir_problem(data_dir)
    if problem:
        findings.errors.append(f"{settings.written_as('data_dir')}: {problem}")
    elif not data_dir.exists():
        to_create.append(f"data_dir {data_dir}")
    elif warn_if_readable:
        warn_if_others_can_read(data_dir)
    findings.collect(lambda: check_channel_settings(settings))
    findings.collect(lambda: check_templates(settings))
    catalog = findings.collect(lambda: configured_catalog(settings))
    if catalog is None:
        findings.unchecked.append(
            "intents.model_path and intents.geocoder: the model's classes are checked against the "
            "catalog's services, and open311.catalog_file did not load"
        )
    elif any(error.startswith("intents.geocoder.") for error in findings.errors):
        findings.unchecked.append(
            "intents.model_path: the model is loaded with its geocoder, which cannot be built as it is"
        )
    else:
        findings.collect(lambda: check_understanding(settings, catalog))
    return findings.collect(lambda: _schema(settings, to_create)) or ""


def _schema(settings: Settings, to_create: list[str]) -> str:
    """What serve would do to the database's schema, read without changing it (a StartupError when the
    database cannot be reached). A SQLite file that is not there is not made: serve would make it."""
    from bot.db import pending_migrations
    from bot.runtime import configured_catalog, open_database

    if settings.open311.sandbox:
        catalog = configured_catalog(settings)
        cases = len(catalog.sandbox_cases)
        return (
            f"sandbox: serve would start {settings.data_dir / 'sandbox.db'} afresh with the catalog's "
            f"{cases} test case{'' if cases == 1 else 's'} (the production database is not opened)"
        )
    if _database_file_missing(settings):
        from sqlalchemy.engine import make_url

        path = make_url(settings.effective_database_url).database
        to_create.append(f"the database {path} with its schema")
        return "there is no database yet"
    engine = open_database(settings.effective_database_url, apply_migrations=False, pool_size=1)
    try:
        with engine.connect() as connection:
            current, pending = pending_migrations(connection)
    finally:
        engine.dispose()
    if current is None:
        return "the database is empty: serve would create its schema"
    if pending:
        return (
            f"the database's schema is at {current}: serve would upgrade it to {pending[-1]} "
            f"({len(pending)} migration{'s' if len(pending) > 1 else ''}, one way: back it up first)"
        )
    return f"the database's schema is up to date ({current})"


def _database_file_missing(settings: Settings) -> bool:
    """Whether the database is a SQLite file that is not there yet (serve would create it)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    return not Path(url.database).exists()


def _build_as_serve_would(settings: Settings, scratch: Path, database_url: str | None) -> None:
    """Builds the runtime and the app as serve would, without starting them. The sandbox's database is
    built afresh with its test cases on every start: here in ``scratch``, so data_dir/sandbox.db (a serving
    sandbox's) is neither created nor replaced."""
    from bot.app import create_app
    from bot.runtime import Runtime

    runtime = Runtime.build(settings, apply_migrations=False, sandbox_dir=scratch, database_url=database_url)
    try:
        create_app(settings, runtime)
        _warn_of_data_left_behind(settings, runtime.engine)
    finally:
        runtime.close()


def _warn_of_data_left_behind(settings: Settings, engine: Engine) -> None:
    """A city that set database_url without copying its SQLite data would start empty: say so (in the
    log; from --check on stderr), naming `database copy`."""
    from bot.db_copy import data_left_behind

    warning = data_left_behind(settings, engine)
    if warning:
        logging.getLogger(__name__).warning(warning)
