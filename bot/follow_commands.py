"""FOLLOW <id> and UNFOLLOW <id>: the conversation engine's command hooks for status updates.

``follow_command_hooks(backend)`` gives the hooks ``ConversationEngine(command_hooks=...)`` takes; they run
in the engine's transaction and answer in the resident's language. A request is found through the same
backend the bot files into (embedded core or remote city), by its number or its token. A remote city's
request the bot did not file is looked up there and mirrored (``TracksRequests``), so it is polled from then
on; a city that cannot be reached just now gets "try again later" and nothing is followed. Its updates
answer in the thread of the message FOLLOW came in (on X under the tweet; a DM's by DM).
"""

from __future__ import annotations

from sqlmodel import Session

from bot.backend import (
    RequestBackend,
    RequestStatus,
    RequestUnreachable,
    TracksRequests,
    service_name_in,
)
from bot.conversation import CommandHook
from bot.follows import follow, unfollow
from bot.resident_commands import ResidentCommand
from bot.state import Resident
from bot.templates import Templates


def follow_command_hooks(backend: RequestBackend, templates: Templates) -> dict[str, CommandHook]:
    def on_follow(
        session: Session,
        command: ResidentCommand,
        resident: Resident,
        language: str,
        *,
        thread: str | None = None,
    ) -> str:
        if command.argument is None:
            return templates.render("follow_which", language)
        try:
            found = _find_to_follow(backend, command.argument, session)
        except RequestUnreachable as exc:
            return templates.render(exc.reply_key, language)
        if found is None:
            return templates.render("status_not_found", language, reference=command.argument)
        reference = found.service_request_id or found.token or command.argument
        # A FOLLOW tweeted in public gets its updates under that tweet, as a report's come under the report's:
        # a resident who refuses the city's DMs still gets them.
        if not follow(session, reference, resident.channel, resident.resident_id, reply_to=thread):
            return templates.render("already_following", language, id=reference)
        service = service_name_in(backend.services(), found.service_name, templates.language_for(language))
        return templates.render("followed", language, id=reference, service=service)

    def on_unfollow(
        session: Session,
        command: ResidentCommand,
        resident: Resident,
        language: str,
        *,
        thread: str | None = None,
    ) -> str:
        if command.argument is None:
            return templates.render("follow_which", language)
        try:
            found = backend.lookup(command.argument, session)
        except RequestUnreachable:
            found = None  # what this resident follows is known here: the literal reference still stops
        # The filer of a batch request follows its token as well as its number: both stop.
        references = {command.argument.lstrip("#")}
        if found is not None:
            references |= {ref for ref in (found.service_request_id, found.token) if ref}
        channel, resident_id = resident.channel, resident.resident_id
        removed = [ref for ref in references if unfollow(session, ref, channel, resident_id)]
        shown = (found.service_request_id if found is not None else None) or command.argument
        return templates.render("unfollowed" if removed else "not_following", language, id=shown)

    return {"follow": on_follow, "unfollow": on_unfollow}


def _find_to_follow(backend: RequestBackend, reference: str, session: Session) -> RequestStatus | None:
    if isinstance(backend, TracksRequests):
        return backend.track(reference, session)
    return backend.lookup(reference, session)
