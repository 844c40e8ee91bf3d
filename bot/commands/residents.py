"""``open311-bot residents``: answering a resident who asks what is held about them, or to be forgotten.

    open311-bot residents find --request 12                                       # who filed or follows #12
    open311-bot residents forget --channel sms --resident +14155550142 --dry-run  # what is held, unchanged
    open311-bot residents forget --channel sms --resident +14155550142            # delete or anonymise it

A resident is a channel and their id there: an SMS number in E.164 form, a Telegram chat id (in a group,
``<chat id>:<user id>``), an X user id (digits, not the @name), a local id. What ``forget`` deletes, what it
anonymises and what it keeps is ``bot.forgetting``'s; it prints each, and records in the audit log that a
resident of the channel was forgotten (not who).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from bot.config import load_settings

if TYPE_CHECKING:
    from bot.forgetting import Holdings

CLI_ACTOR = "cli"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "residents", help="find a resident's data, and forget it (a deletion request)"
    )
    actions = parser.add_subparsers(dest="residents_action", required=True, metavar="ACTION")
    find = actions.add_parser("find", help="who filed or follows a request (channel and id)")
    find.add_argument("--request", required=True, metavar="ID", help="the request's number (or token)")
    forget = actions.add_parser(
        "forget", help="delete or anonymise everything held about one resident (--dry-run: only list it)"
    )
    forget.add_argument("--channel", required=True, help="sms, telegram, twitter or local")
    forget.add_argument(
        "--resident",
        required=True,
        metavar="ID",
        help="their id there: +14155550142, a chat id, an X user id",
    )
    forget.add_argument(
        "--dry-run", action="store_true", help="list what is held and would go; change nothing"
    )
    forget.add_argument(
        "--redact-descriptions",
        action="store_true",
        help="also replace the public description of the requests they filed (their words) with a notice",
    )
    forget.add_argument(
        "--forget-opt-out",
        action="store_true",
        help="also delete the record that they sent STOP (it keeps messages to them blocked until START)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the CLI imports every command module to build its parser.
    from bot.runtime import Runtime

    settings = load_settings(args.config)
    runtime = Runtime.build(settings)
    try:
        with runtime.sessions() as session:
            if args.residents_action == "find":
                return _find(session, args.request.strip().lstrip("#"))
            return _forget(session, runtime, args)
    finally:
        runtime.close()


def _find(session: Any, reference: str) -> int:
    from bot import forgetting

    linked = forgetting.who(session, reference)
    if not linked:
        print(f"open311-bot residents: no resident is linked to request {reference}", file=sys.stderr)
        return 1
    for channel, resident_id, how in linked:
        print(f"{channel}\t{resident_id}\t{how}")
    return 0


def _forget(session: Any, runtime: Any, args: argparse.Namespace) -> int:
    from bot import forgetting
    from bot.review import audit

    channel, resident_id = args.channel.strip(), args.resident.strip()
    remote = runtime.settings.remote.enabled
    found = forgetting.find(session, runtime.media, channel, resident_id, remote=remote)
    if not found.known:
        print(_unknown(session, channel, resident_id), file=sys.stderr)
        return 1
    keep_opt_out = not args.forget_opt_out
    lines = _what(found, redact=args.redact_descriptions, keep_opt_out=keep_opt_out)
    if args.dry_run:
        print(
            f"Held about {channel} resident {resident_id} (nothing changed; without --dry-run it would go):"
        )
        print("\n".join(f"  {line}" for line in lines))
        return 0
    forgetting.forget(session, found, redact_descriptions=args.redact_descriptions, keep_opt_out=keep_opt_out)
    audit.add_entry(
        session,
        actor=f"{CLI_ACTOR}:{os.environ.get('USER', 'unknown')}",
        action="resident.forget",
        subject_type="resident",
        subject_id=channel,  # not who: the audit log would otherwise keep what was forgotten
        after={
            "requests": [row.id for row in found.requests],
            "review_items": [item.id for item in found.review_items],
            "descriptions_redacted": args.redact_descriptions,
            "opt_out_kept": found.opted_out and keep_opt_out,
        },
    )
    session.commit()
    deleted = forgetting.delete_photos(found.photos)
    print(f"Forgot {channel} resident {resident_id}:")
    print("\n".join(f"  {line}" for line in lines))
    if deleted != len(found.photos):
        print(f"  ({len(found.photos) - deleted} photo files were already gone)")
    return 0


def _what(found: Holdings, *, redact: bool, keep_opt_out: bool) -> list[str]:
    """One line per kind of data: what is held and what forgetting does to it."""
    lines = []
    if found.resident is not None:
        if found.opted_out and keep_opt_out:
            when = found.resident.opted_out_at
            on = f" on {when:%Y-%m-%d}" if when else ""
            lines.append(
                f"resident: reduced to the record that they sent STOP{on} (channel, id, date): messages to "
                "them stay blocked until they send START (--forget-opt-out deletes it)"
            )
        else:
            lines.append("resident (language, last request, STOP/START): deleted")
    if found.conversation is not None:
        lines.append("dialogue in progress: deleted")
    lines.append(f"messages they sent (inbox): {found.inbox} deleted")
    lines.append(f"replies and updates to them (outbox): {found.outbox} deleted")
    if found.follows:
        lines.append(
            f"follows: {len(found.follows)} deleted ({_numbers(f.service_request_id for f in found.follows)})"
        )
    if found.review_items:
        waiting = sum(item.status in ("pending", "claimed") for item in found.review_items)
        closed = f"; {waiting} still waiting closed as rejected" if waiting else ""
        lines.append(
            f"review items: {_numbers(str(item.id) for item in found.review_items)} anonymised (their words, "
            f"photos, places, answers and ids){closed}"
        )
    if found.examples:
        lines.append(f"operators' labelled examples of their words: {len(found.examples)} deleted")
    if found.requests:
        description = (
            "descriptions replaced with a notice"
            if redact
            else "descriptions kept as written: public on the API (--redact-descriptions replaces them)"
        )
        numbers = _numbers(str(row.id) for row in found.requests)
        lines.append(
            f"requests they filed: {numbers}: stay as the city's record, with the phone, email, name, device "
            f"and account fields emptied and their photos removed; {description}"
        )
    if found.tokens:
        lines.append(f"batch submissions: {len(found.tokens)} anonymised as the requests are")
    if found.submissions:
        numbers = _numbers(s.service_request_id or f"R{s.id}" for s in found.submissions)
        lines.append(
            f"reports sent to the city: {numbers}: anonymised here as requests are; the city's own copy is "
            "the city's to change"
        )
    lines.append(f"photo files they sent: {len(found.photos)} deleted")
    if found.audit_entries:
        lines.append(
            f"audit entries about their review items: {len(found.audit_entries)} cleared of places and words"
        )
    return lines


def _numbers(references: Any) -> str:
    return ", ".join(f"#{reference}" for reference in sorted(set(references), key=lambda r: (len(r), r)))


def _unknown(session: Any, channel: str, resident_id: str) -> str:
    from bot import forgetting

    message = f"open311-bot residents: nothing is held about {resident_id!r} on {channel}"
    similar = forgetting.near_misses(session, channel, resident_id)
    if similar:
        return f"{message}; {channel} residents whose id ends in those digits: {', '.join(similar)}"
    channels = forgetting.channels_with_residents(session)
    if channel not in channels:
        known = ", ".join(channels) if channels else "none yet"
        return f"{message}; the channels with residents are: {known}"
    return (
        f"{message} (ids are as the channel gives them: an SMS number as +14155550142, a Telegram chat id, "
        "an X user id in digits; `residents find --request ID` names who filed a request)"
    )
