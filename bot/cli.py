"""The console command ``open311-bot`` and its subcommands.

Each subcommand lives in its own module under ``bot/commands/`` with a ``register(subparsers)`` function
that adds its parser and sets ``handler`` (a function taking the parsed arguments, returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, StartupError
from bot.files import keep_files_private

# One line per command module; adding a subcommand means adding its module here.
COMMAND_MODULES: tuple[str, ...] = (
    "bot.commands.serve",
    "bot.commands.keys",
    "bot.commands.operators",
    "bot.commands.worker",
    "bot.commands.intents",
    "bot.commands.chat",
    "bot.commands.residents",
    "bot.commands.database",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="open311-bot",
        description="A city's 311 intake bot with an embedded Open311 GeoReport v2 server.",
    )
    parser.add_argument("--config", type=Path, default=None, help="TOML configuration file")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    keep_files_private()  # the database, photos and exports it writes hold residents' data
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"open311-bot: configuration error: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"open311-bot: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
