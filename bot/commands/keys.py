"""``open311-bot keys``: API keys for third-party applications (create, list, revoke).

``keys create NAME`` prints the new key alone on its last line (scripts take ``| tail -n1``); the key is
shown once and stored only as a hash.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bot.config import load_settings

if TYPE_CHECKING:
    from bot.open311.keys import KeyStore


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("keys", help="manage Open311 API keys")
    actions = parser.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key for an application; prints the key last")
    create.add_argument("name", help="the application's name, e.g. 'CityFix iOS'")
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--active", action="store_true", help="only keys that are not revoked")
    revoke = actions.add_parser("revoke", help="revoke every key of an application, or one key by --id")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", help="the application's name")
    target.add_argument("--id", type=int, dest="key_id", help="the id shown by `keys list`")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the CLI imports every command module to build its parser, and the
    # database layer would otherwise load for `open311-bot classify` too.
    from bot.db import make_session_factory
    from bot.open311.errors import Open311Error
    from bot.open311.keys import KeyStore
    from bot.runtime import open_database

    settings = load_settings(args.config)
    engine = open_database(settings.effective_database_url, say_upgrades=True)
    try:
        keys = KeyStore(make_session_factory(engine))
        try:
            return _act(keys, args)
        except Open311Error as error:
            print(f"open311-bot keys: {error.description}", file=sys.stderr)
            return 1
    finally:
        engine.dispose()


def _act(keys: KeyStore, args: argparse.Namespace) -> int:
    if args.keys_action == "create":
        record, plain = keys.create(args.name)
        print(f"Created API key {record.id} for {record.app_name!r}. It is shown only now; store it safely:")
        print(plain)
        return 0
    if args.keys_action == "list":
        print(f"{'id':>5}  {'prefix':<10} {'created (UTC)':<17} {'revoked (UTC)':<17} application")
        for key in keys.list(include_revoked=not args.active):
            revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "-"
            created = key.created_at.strftime("%Y-%m-%d %H:%M")
            print(f"{key.id:>5}  {key.key_prefix:<10} {created:<17} {revoked:<17} {key.app_name}")
        return 0
    if args.key_id is not None:
        revoked_key = keys.revoke(args.key_id)
        print(f"Revoked API key {revoked_key.id} of {revoked_key.app_name!r}.")
        return 0
    count = keys.revoke_app(args.name)
    if count == 0:
        print(f"open311-bot keys: {args.name!r} has no active key", file=sys.stderr)
        return 1
    print(f"Revoked {count} key(s) of {args.name!r}.")
    return 0
