"""``open311-bot operators``: manage who may sign in to the operator console, and export what they taught.

    open311-bot operators create NAME            # password from the terminal (asked twice) or stdin
    open311-bot operators set-password NAME
    open311-bot operators list
    open311-bot operators disable NAME           # also ends their open sessions
    open311-bot operators enable NAME
    open311-bot operators export-corrections FILE   # the labelled examples, for `train --corrections`

When standard input is not a terminal the password is its first line, so scripts can pipe it in without
putting it on the command line (where other users could read it in the process list).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import load_settings

if TYPE_CHECKING:
    from sqlmodel import Session

CLI_ACTOR = "cli"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("operators", help="manage operator console accounts")
    actions = parser.add_subparsers(dest="operators_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create an operator (password from the terminal or stdin)")
    create.add_argument("name")
    password = actions.add_parser("set-password", help="set a new password for an operator")
    password.add_argument("name")
    actions.add_parser("list", help="list operators")
    disable = actions.add_parser("disable", help="stop an operator from signing in; ends their sessions")
    disable.add_argument("name")
    enable = actions.add_parser("enable", help="allow a disabled operator to sign in again")
    enable.add_argument("name")
    export = actions.add_parser(
        "export-corrections", help="write the operators' labelled examples as CSV (for train --corrections)"
    )
    export.add_argument("file", type=Path)
    parser.set_defaults(handler=run)


@contextmanager
def _session(args: argparse.Namespace) -> Iterator[Session]:
    from bot.db import make_session_factory
    from bot.runtime import open_database

    settings = load_settings(args.config)
    engine = open_database(settings.effective_database_url, pool_size=1, say_upgrades=True)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def read_password(prompt: str = "Password: ") -> str:
    """From the terminal (typed twice, not echoed) or, when stdin is not a terminal, its first line."""
    from bot.review.operators import OperatorError

    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass(prompt)
    second = getpass.getpass("Repeat the password: ")
    if first != second:
        raise OperatorError("the two passwords differ")
    return first


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the CLI imports every command module to build its parser, and the
    # database layer would otherwise load for `open311-bot classify` too.
    from bot.review import audit, learning
    from bot.review.auth import end_sessions_of
    from bot.review.operators import (
        OperatorError,
        create_operator,
        list_operators,
        set_disabled,
        set_password,
    )

    action: str = args.operators_action
    actor = f"{CLI_ACTOR}:{os.environ.get('USER', 'unknown')}"
    try:
        if action == "create":
            password = read_password()
            with _session(args) as session:
                operator = create_operator(session, args.name, password)
                audit.record(
                    session,
                    actor=actor,
                    action="operator.create",
                    subject_type="operator",
                    subject_id=operator.name,
                    after={"name": operator.name, "disabled": False},
                )
            print(f"created operator {operator.name}")
        elif action == "set-password":
            password = read_password("New password: ")
            with _session(args) as session:
                operator = set_password(session, args.name, password)
                assert operator.id is not None
                ended = end_sessions_of(session, operator.id)
                audit.record(
                    session,
                    actor=actor,
                    action="operator.set_password",
                    subject_type="operator",
                    subject_id=operator.name,
                    after={"sessions_ended": ended},
                )
            print(f"new password set for {operator.name}")
        elif action in ("disable", "enable"):
            disabled = action == "disable"
            with _session(args) as session:
                operator = set_disabled(session, args.name, disabled)
                assert operator.id is not None
                ended = end_sessions_of(session, operator.id) if disabled else 0
                audit.record(
                    session,
                    actor=actor,
                    action=f"operator.{action}",
                    subject_type="operator",
                    subject_id=operator.name,
                    before={"disabled": not disabled},
                    after={"disabled": disabled, "sessions_ended": ended},
                )
            print(f"{operator.name} {'disabled' if disabled else 'enabled'}")
        elif action == "list":
            with _session(args) as session:
                operators = list_operators(session)
            if not operators:
                print("no operators yet: create one with `open311-bot operators create NAME`")
            for operator in operators:
                seen = (
                    operator.last_sign_in_at.strftime("%Y-%m-%d %H:%M UTC")
                    if operator.last_sign_in_at
                    else "never"
                )
                state = "disabled" if operator.disabled else "active"
                print(f"{operator.name}\t{state}\tlast sign-in: {seen}")
        elif action == "export-corrections":
            with _session(args) as session:
                count = learning.export_corrections_csv(session, args.file)
            print(f"wrote {count} labelled examples to {args.file}")
    except OperatorError as exc:
        print(f"open311-bot operators: {exc}", file=sys.stderr)
        return 1
    return 0
