"""The dialogue with one resident on one channel: what a report still lacks is asked for, one thing at a time.

A turn goes through ``ConversationEngine.respond``, which reads and changes the resident's
``DialogueState`` (persisted as JSON by the dispatcher, so a restart loses nothing) and returns the replies.
Everything it writes (a filed request, a review item, the state) goes into the caller's session; the
dispatcher commits it together with the inbox and outbox rows.

The branches:
- a clear report (confident category, a place on the map) is filed at once;
- an unsure category: the top choices are offered, answered by number or words; very unsure, or "something
  else": the report goes to the operator review queue (once it has a place) and the resident is told;
- services that share a classifier class: the catalog's words for one of them pick it; else the resident
  chooses, among all of them ("something else" offers those that did not fit first);
- a question that is no report ("Is 311 open on Thanksgiving?"): what the bot takes, and no report opened;
- no place: asked for (address, intersection, landmark or shared location);
- a place where a wrong one is plausible (an approximate match, a landmark, a corrected street name; see
  ``bot.location_confirmation``): "Is it at ...?" with Yes / No; No asks for the place again;
- a photo, a shared location or a place written alone: asked what (and where);
- "another one at ...", when the category is unsure: the service of the resident's last report
  (``bot.back_reference``);
- several problems at several places in one message: one report each, one after the other
  (``bot.several_reports``);
- required attributes of the service: asked one at a time in their ``order``, lists as numbered options,
  with what the message already says filled in without asking (in the resident's language where the
  catalog translates them);
- commands (STATUS, CANCEL, HELP, STOP/START, FOLLOW/UNFOLLOW) in any case with light typos; a greeting
  alone gets the help and thanks alone nothing (``bot.small_talk``), neither starting a report.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

from rapidfuzz import fuzz, process
from sqlalchemy import update
from sqlmodel import Session, col

from bot.back_reference import refers_to_last_report, says_it_is_still_there
from bot.backend import (
    AddsMedia,
    AddsWords,
    AttributeSpec,
    Draft,
    FilingRefused,
    RequestBackend,
    RequestUnreachable,
    ServiceSummary,
    TracksRequests,
    find_service,
    ranked_services,
    service_name_in,
)
from bot.chinese_script import with_script
from bot.clock import as_utc, utcnow
from bot.emergencies import sounds_like_an_emergency
from bot.follows import follow_filed
from bot.information_questions import asks_for_information
from bot.location_confirmation import near_the_street, needs_confirmation, on_the_street
from bot.notifications import full_token, short_reference
from bot.quantities import number_answer
from bot.resident_commands import ResidentCommand, parse_command, status_question_language
from bot.review import corrections
from bot.review.console import in_words
from bot.review.models import ReviewItem
from bot.review.queue import ReviewQueue
from bot.several_reports import split_reports
from bot.small_talk import HAN, NO_WORDS, YES_WORDS, SmallTalk, after_thanks, parse_small_talk
from bot.state import Resident
from bot.templates import Templates
from channels.gsm7 import segments
from channels.messages import Choice, GeoPoint, OutboundMessage
from intents.gazetteer import distance_metres
from intents.keywords import keyword_cues
from intents.lexicon import fold, with_gloss
from intents.types import (
    GeocodingUnavailable,
    LocationMention,
    Place,
    Prediction,
    Understander,
    Understanding,
)

Stage = Literal["idle", "category", "location", "confirm_location", "what", "attribute"]
_T = TypeVar("_T")
SOMETHING_ELSE = "__something_else__"
# Below this many characters a message is an answer ("2", "yes"), too short to tell its language.
MIN_TEXT_FOR_LANGUAGE = 12
# Chinese says as much in far fewer characters.
MIN_CJK_FOR_LANGUAGE = 2
# The same report sent again this soon (the reply not seen yet, a double tap, an app retrying) is answered
# with the first one's number instead of being filed twice.
DUPLICATE_WINDOW = timedelta(hours=1)
# Words with no kind or place of their own sent this soon after a report was filed are more about it
# ("it's really deep, right in the bike lane"): added to it. Later they may be another report begun.
DETAILS_WINDOW = timedelta(minutes=30)
# How alike two descriptions must be to be one report sent twice ("There is a huge pothole!!").
DUPLICATE_SIMILARITY = 90
# A spot written this far from a location shared with it is the place meant (the phone is elsewhere);
# nearer, the shared point is the more precise of the two.
WRITTEN_PLACE_WINS_METRES = 300
_NUMBER = re.compile(r"^\s*#?(\d{1,2})[.)]?\s*$")
# "the second one", "two", "option 2", "la segunda", "第二个": a choice by its place in the list.
_POSITIONS: dict[str, int] = {
    word: index
    for index, words in enumerate(
        (
            "first one 1 primera primero primer uno una 一 1st",
            "second two 2 segunda segundo dos 二 2nd",
            "third three 3 tercera tercero tres 三 3rd",
            "fourth four 4 cuarta cuarto cuatro 四 4th",
            "fifth five 5 quinta quinto cinco 五 5th",
            "sixth six 6 sexta sexto seis 六 6th",
        )
    )
    for word in words.split()
}
_ORDINAL_CHOICE = re.compile(
    r"^(?:(?:the|la|el|option|opci[oó]n|number|n[uú]mero|no\.?|#)\s*)?"
    rf"({'|'.join(sorted(_POSITIONS, key=len, reverse=True))})(?:\s+(?:one|option|opci[oó]n))?\W*$"
    r"|^第?([一二三四五六1-6])(?:个|個|项|項|种|種)?\W*$"
)
# Words after a choice by its place that add nothing to it ("the first one obviously", "la segunda, claro").
_AFTER_A_CHOICE = re.compile(
    r"(?:[\s,.!;:-]+(?:obviously|of\s+course|please|pls|plz|thanks|thank\s+you|thx|i\s+think|i\s+guess"
    r"|i\s+suppose|definitely|for\s+sure|surely|clearly|probably|then|lol|haha|por\s+favor|claro|gracias"
    r"|supongo|creo|谢谢|謝謝|吧))+[\W_]*$",
    re.IGNORECASE,
)


def _ordinal(text: str) -> int | None:
    """The place in the list a choice is given by ("the second one", "option 2", "la segunda", "第二个",
    "the first one obviously"), from 0; None when the words are no such choice."""
    lowered = _AFTER_A_CHOICE.sub("", text.strip().lower())
    found = _ORDINAL_CHOICE.search(lowered)
    return _POSITIONS[found.group(1) or found.group(2)] if found is not None else None


# A short answer to "What kind of problem is it?" is only the choice; a longer one says more of the problem.
_CHOICE_WORDS = 3
# How sure the classifier must be that a resident's own word for their problem ("rats") is one of the
# choices offered; it need not be sure enough to file (the resident was asked, the choices are few).
_CHOICE_IN_WORDS_CONFIDENCE = 0.5
_NUMBERS = re.compile(r"\d{1,2}")
# Answers to "Is it at ...?" besides the buttons' labels in the resident's language.
YES, NO = "yes", "no"
# "Where is it?" answered "not sure": kept as the report's address, it was filed at "not sure".
_DONT_KNOW = re.compile(
    r"^\W*(?:i\s+)?(?:(?:really\s+)?(?:don'?t|do\s+not|dunno|idk)\b(?:\s+know)?|not\s+sure|no\s+idea|unsure"
    r"|no\s+s[ée]|ni\s+idea|no\s+estoy\s+segur[oa])\b"
    r"|不知道|不清楚|唔知|不確定|不确定",
    re.IGNORECASE,
)


@dataclass(slots=True)
class DialogueState:
    """What is known so far about the report in progress."""

    stage: Stage = "idle"
    # The resident's own words (they become the request's description).
    words: list[str] = field(default_factory=list)
    media_urls: list[str] = field(default_factory=list)
    service_code: str | None = None
    # The classifier's suggestions: [{"service_code": class, "confidence": c}], best first.
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    # City service codes offered as choices (the "category" stage).
    choices: list[str] = field(default_factory=list)
    # Services of the offered kinds that did not fit in ``max_choices`` (more services share a class than
    # fit): "something else" offers them before the report goes to a person.
    more_choices: list[str] = field(default_factory=list)
    needs_review: bool = False
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    location_text: str | None = None
    location_kind: str | None = None
    location_attempts: int = 0
    attributes: dict[str, str | list[str]] = field(default_factory=dict)
    pending_attribute: str | None = None
    # The other reports of a message that made several ("... and also a broken light at 16th and
    # Mission"), in the resident's words: each is taken up once the one before is filed or sent to review.
    queued: list[str] = field(default_factory=list)
    # The last report filed in this conversation ({"service_code", "description", "place", "reference",
    # "service", "at"}), to know the same report sent again: it outlives the report in progress.
    last_filed: dict[str, Any] | None = None
    # The resident's words for a street they answered No to ("Is it at SANCHEZ ST?"): "near 19th" next is
    # that corner, not 19th Ave across the city.
    rejected_street: str | None = None

    @property
    def has_location(self) -> bool:
        return (self.lat is not None and self.long is not None) or bool(self.address_string)

    @property
    def in_progress(self) -> bool:
        return self.stage != "idle" or bool(self.words or self.media_urls or self.has_location)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DialogueState:
        # A deep copy: the stored JSON must not share lists with the state, or changing the state would
        # change the stored value too and the database would see nothing to write.
        known = {name: copy.deepcopy(data[name]) for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


@dataclass(frozen=True, slots=True)
class Turn:
    """One inbound message as the engine sees it (media already stored under our own URLs)."""

    channel: str
    resident_id: str
    provider_message_id: str
    text: str = ""
    point: GeoPoint | None = None
    media_urls: tuple[str, ...] = ()
    reply_to: str | None = None
    language_hint: str | None = None
    choice_value: str | None = None


class CommandHook(Protocol):
    """A command the engine does not handle itself (FOLLOW/UNFOLLOW belong to status updates): returns the
    reply text, or None to use the default "not available" reply. ``thread`` is the message the command
    came in (``Turn.reply_to``), under which the updates a FOLLOW asks for answer."""

    def __call__(
        self,
        session: Session,
        command: ResidentCommand,
        resident: Resident,
        language: str,
        *,
        thread: str | None = None,
    ) -> str | None: ...


class ConversationEngine:
    def __init__(
        self,
        understander: Understander,
        backend: RequestBackend,
        templates: Templates,
        review_queue: ReviewQueue,
        *,
        auto_file_threshold: float | None = None,
        offer_choices_min_confidence: float = 0.2,
        max_choices: int = 3,
        command_hooks: Mapping[str, CommandHook] | None = None,
    ) -> None:
        self.understander = understander
        self.backend = backend
        self.templates = templates
        self.review_queue = review_queue
        self.auto_file_threshold = (
            auto_file_threshold if auto_file_threshold is not None else understander.auto_file_threshold
        )
        self.offer_choices_min_confidence = offer_choices_min_confidence
        self.max_choices = max_choices
        self.command_hooks: dict[str, CommandHook] = dict(command_hooks or {})

    # -- the entry point -------------------------------------------------------------------------------

    def prepare(self, turn: Turn, state: DialogueState) -> PreparedUnderstanding:
        """Asks the understander in advance what ``respond`` will ask it for this turn in this state.

        The dispatcher calls this before the turn's transaction: geocoding may be a network call, and
        the database lock the turn holds (SQLite's write lock) should not wait on it. If the state has
        moved on meanwhile, ``respond`` simply asks for what was not prepared.
        """
        prepared = PreparedUnderstanding(self.understander)
        # A map service that failed is remembered: the turn meets the failure without waiting on it twice.
        with contextlib.suppress(GeocodingUnavailable):
            self._ask_in_advance(prepared, turn, state)
        return prepared

    def _ask_in_advance(self, prepared: PreparedUnderstanding, turn: Turn, state: DialogueState) -> None:
        text = turn.text.strip()
        # The resident is not known yet here: a question about their last report is prepared as a report.
        command, small_talk = _words_instead_of_a_report(turn, state, None)
        words_only = command is not None or small_talk is not None
        if _long_enough_for_language(turn.text) and not words_only:
            _language_of(prepared, turn.text)
            prepared.locate(turn.text)  # a place alone tells no language (``_only_street_names``)
        if command is not None:
            self._prefetch_request(command)
            return
        if small_talk is not None:
            return
        if turn.point is not None:
            prepared.reverse(turn.point.lat, turn.point.long)
        if _waits_with_words_of_no_kind(state) and text:
            prepared.understand(text)  # a whole report instead of the place (``_a_new_report_instead``)
        another_place = state.stage == "confirm_location" and _yes_or_no(text) is None
        if state.stage == "location" and text and (near := self._near_rejected_street(turn, state, prepared)):
            text = near
            turn = replace(turn, text=near)
        if (state.stage == "location" or another_place) and text:
            mention = prepared.locate(turn.text)
            # "not sure", "ok": no place, so nothing to ask a geocoder (an online one is sent what residents
            # write, and each request counts against its rate limit), as ``_answer_location`` reads them.
            if (point := _written_point(mention)) is not None:
                prepared.reverse(point.lat, point.long)  # a map link (``_answer_location``)
            elif mention is not None or not (_DONT_KNOW.search(turn.text) or parse_small_talk(turn.text)):
                prepared.geocode(mention.normalized if mention is not None else text)
            if mention is None and _describes_problem(prepared, state, text, self.auto_file_threshold):
                prepared.classify("\n".join([*state.words, text]))
            if state.service_code is not None and _SAYS_IT_IS_ANOTHER.search(text):
                # Another kind, maybe (``_kind_corrected_before_filing``).
                sent = turn.text
                others = sent if mention is None else f"{sent[: mention.start]} {sent[mention.end :]}"
                prepared.classify(_what_it_is(others))
            if another_place:
                self._narrowed(turn, state, prepared)
                rest = _after_yes(text, (YES, NO))
                if rest is not None:
                    self._narrowed(replace(turn, text=rest), state, prepared)
                    if (said := prepared.locate(rest)) is not None:
                        prepared.geocode(said.normalized)
        elif state.stage == "category" and text and not turn.choice_value:
            if not _only_a_choice(text):
                prepared.understand(text)  # a whole new report, maybe (``_another_report``)
            if (mention := prepared.locate(text)) is not None:
                prepared.geocode(mention.normalized)  # the place with the answer (``_place_with_the_kind``)
        elif state.stage in ("idle", "what") and text:
            prepared.understand("\n".join([*state.words, text]))
            if _just_filed(turn, state) is not None and _SAYS_IT_IS_ANOTHER.search(text):
                # Another kind than the report's, maybe (``_kind_right_after_filing``).
                prepared.classify(_without_what_it_is_not(text))
            if _may_hold_several(turn, state):
                split_reports(text, prepared)
        # The message's other reports, taken up once this turn finishes the one in progress.
        for waiting in state.queued:
            prepared.understand(waiting)

    def _prefetch_request(self, command: ResidentCommand) -> None:
        """FOLLOW/STATUS of a request that lives elsewhere (a remote city's): asked now, before the turn's
        transaction, so the turn does not hold the database while the city answers."""
        if (
            command.argument
            and command.name in ("follow", "status")
            and isinstance(self.backend, TracksRequests)
        ):
            self.backend.prefetch(command.argument)

    def respond(
        self,
        session: Session,
        turn: Turn,
        state: DialogueState,
        resident: Resident,
        prepared: PreparedUnderstanding | None = None,
    ) -> list[OutboundMessage]:
        token = _turn_understander.set(prepared)
        before = state.to_json()
        try:
            with session.begin_nested():
                return self._respond(session, turn, state, resident)
        except GeocodingUnavailable as exc:
            # The map service failed partway through the turn: what the turn did is undone, and the report
            # goes to a person from the state before it.
            _restore(state, before)
            return self._without_the_map(session, turn, state, resident, exc)
        finally:
            _turn_understander.reset(token)

    def _understander(self) -> Understander:
        return _turn_understander.get() or self.understander

    def _respond(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident
    ) -> list[OutboundMessage]:
        if turn.choice_value is not None and turn.choice_value not in self._pending_choices(state):
            return self._question_closed(turn, state, resident)
        command, small_talk = _words_instead_of_a_report(
            turn,
            state,
            resident,
            waiting=lambda: self.review_queue.waiting_for(session, resident.channel, resident.resident_id),
        )
        if resident.opted_out and command is None and _carrier_opt_in(turn):
            command = ResidentCommand("start")
        language = self._language(turn, resident, command, small_talk, answering=state.in_progress)
        reply = _Replies(self.templates, turn, language)
        if resident.opted_out and (command is None or command.name not in ("start", "help")):
            # SMS opt-out rules: after STOP nothing is sent until START (but HELP, which carriers require
            # to be answered always, and it opts no one back in). A report sent meanwhile is still
            # kept for a person (it was dropped without a trace); the resident hears nothing of it.
            if command is None and small_talk is None and (turn.text.strip() or turn.media_urls):
                self.review_queue.enqueue(
                    session,
                    channel=turn.channel,
                    resident_id=turn.resident_id,
                    provider_message_id=turn.provider_message_id,
                    reply_to=turn.reply_to,
                    language=self._written_in(turn.text.strip(), language),
                    text=turn.text.strip(),
                    media_urls=list(turn.media_urls),
                    lat=turn.point.lat if turn.point is not None else None,
                    long=turn.point.long if turn.point is not None else None,
                    reason="sent after STOP: the resident gets no replies until START",
                )
            return []
        if command is not None:
            self._command(session, command, state, resident, reply)
            return reply.messages
        if small_talk is not None:
            # "Hi" before the problem, or "yes" to a question no longer waiting: how to report one. Thanks
            # (or "ok") after a reply needs no answer: one would cost an SMS, and two bots thanking each
            # other would never stop.
            if small_talk.kind != "filler" and state.in_progress:
                self._repeat_question(state, reply)
            elif small_talk.kind in ("greeting", "answer"):
                reply.say("help")
            return reply.messages
        if sounds_like_an_emergency(turn.text):
            # First, whatever follows: 311 is no emergency line, and a person may read this hours later.
            reply.say("emergency")
        if self._more_for_the_waiting_report(session, turn, state, resident, reply):
            return reply.messages
        if self._photo_for_the_last_report(session, turn, state, resident, reply):
            return reply.messages
        if self._more_for_the_filed_report(session, turn, state, resident, reply):
            return reply.messages
        if self._a_new_report_instead(turn, state):
            # "Where is it?" asked of words of no known kind ("Anyone know if 311 is open on Thanksgiving?",
            # a press tweet), answered with a whole report ("Broken streetlight at Castro St and 18th St"):
            # the report, on its own. Before, it was asked its kind and filed with the earlier words first.
            _reset(state, keep_queued=True)
        if state.stage == "category":
            self._answer_category(session, turn, state, resident, reply)
        elif state.stage == "location":
            near = self._near_rejected_street(turn, state, self._understander())
            self._answer_location(session, replace(turn, text=near) if near else turn, state, resident, reply)
        elif state.stage == "confirm_location":
            self._answer_confirmation(session, turn, state, resident, reply)
        elif state.stage == "attribute":
            self._answer_attribute(session, turn, state, resident, reply)
        else:
            if _says_nothing(turn):
                # "1", "21", "?": a late answer to a question already answered, or a slip. No report of
                # nothing: before, "1" was filed as a problem and "Where is it?" asked about it.
                reply.say("ask_what")
                return reply.messages
            if _may_hold_several(turn, state):
                first, *state.queued = split_reports(turn.text.strip(), self._understander())
                turn = replace(turn, text=first)
            self._report(session, turn, state, resident, reply)
        self._report_queued(session, turn, state, resident, reply)
        return reply.messages

    def _pending_choices(self, state: DialogueState) -> frozenset[str]:
        """The values of the choices the question now waiting offers; none when no question offers any."""
        if state.stage == "category":
            return frozenset([*state.choices, SOMETHING_ELSE])
        if state.stage == "confirm_location":
            return frozenset({YES, NO})
        if state.stage == "attribute" and (spec := self._attribute(state)) is not None:
            return frozenset(key for key, _name in spec.values)
        return frozenset()

    def _question_closed(self, turn: Turn, state: DialogueState, resident: Resident) -> list[OutboundMessage]:
        """A button of a question no longer asked (the report filed or dropped since, or another question
        asked): it starts and changes nothing, and the resident is told so, with the question now waiting, if
        any. Before, "Illegal Dumping" pressed after CANCEL began a report of the label's words, and one place
        later filed it. In the resident's language: a label's few words tell none."""
        if resident.opted_out:
            return []  # after STOP nothing is sent until START
        reply = _Replies(self.templates, turn, self.templates.language_for(resident.language))
        reply.say("question_closed")
        self._repeat_question(state, reply)
        return reply.messages

    def _a_new_report_instead(self, turn: Turn, state: DialogueState) -> bool:
        """Whether the turn is a whole report (a kind the classifier is sure of and a place in the city) sent
        while the place of words of no known kind is asked: a report of its own, not their place."""
        text = turn.text.strip()
        if not _waits_with_words_of_no_kind(state) or turn.media_urls or turn.point is not None or not text:
            return False
        understanding = self._understander().understand(text)
        prediction, place = understanding.prediction, understanding.place
        return (
            prediction.service_code != "other"
            and prediction.confidence >= self.auto_file_threshold
            and understanding.location is not None
            and place is not None
            and place.inside_jurisdiction
        )

    def _photo_for_the_last_report(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> bool:
        """A photo sent alone, or with a few words about it ("here's a photo of it", "otra foto"), soon
        after a report was filed: the report's photo, or one more listed in its description when it has
        one. It used to start a new report ("What is the problem, and where is it?") that went to a person
        as a duplicate, the second photo also after the first was added."""
        if state.in_progress or not turn.media_urls or turn.point is not None:
            return False
        if turn.text.strip() and not _about_a_photo(turn.text):
            return False
        filed = state.last_filed
        reference = resident.last_request_id
        if not filed or reference is None or not isinstance(self.backend, AddsMedia):
            return False
        if not _filed_lately(filed) or filed.get("reference") != f"#{reference}":
            return False
        with session.begin_nested() as photos:
            if not all(self.backend.add_media(reference, url, session) for url in turn.media_urls):
                photos.rollback()
                return False  # no room left for them: they start a report of their own
        reply.say("photo_added", id=reference)
        return True

    def _more_for_the_filed_report(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> bool:
        """Words that go on about the report just filed ("it's really deep, right in the bike lane" after
        "Pothole at Church St and Market St"), sent within ``DETAILS_WINDOW`` with nothing in progress: added
        to its description, and the resident told so, as words for a report waiting for a person are
        (``_more_for_the_waiting_report``). Before, they began a second report ("What kind of problem is
        it?") whose answers filed a duplicate. Words of a report of their own (``_goes_on_about_the_filed``),
        a question, a correction of the kind or "it was never fixed" (read by ``_report``) are not added."""
        text = turn.text.strip()
        if state.in_progress or state.queued or turn.point is not None or turn.media_urls or not text:
            return False
        filed, reference = state.last_filed, resident.last_request_id
        if not filed or reference is None or filed.get("reference") != f"#{reference}":
            return False
        if not isinstance(self.backend, AddsWords) or not _filed_within(filed, DETAILS_WINDOW):
            return False
        if _says_nothing(turn) or not self._goes_on_about_the_filed(text, filed):
            return False
        if not self.backend.add_words(reference, text, session):
            return False
        reply.say("words_added", id=reference)
        return True

    def _goes_on_about_the_filed(self, text: str, filed: Mapping[str, Any]) -> bool:
        """Whether words sent right after a report was filed say more about it: no place, no word naming a
        problem, no other kind the classifier is sure of, and none of the words that open or correct one."""
        if (
            _ANOTHER.search(text)
            or _STARTS_A_REPORT.search(text)
            or _SAYS_IT_IS_ANOTHER.search(text)
            or says_it_is_still_there(text)
            or refers_to_last_report(text)
        ):
            return False
        # A place, or a problem's own word ("There is a big pothole in the road"), makes a report: a new
        # one, or the same sent again (``_sent_again``), not more of the one filed.
        if keyword_cues(with_gloss(text)):
            return False
        understanding = self._understander().understand(text)
        if understanding.location is not None or self._asks_no_report(text, understanding):
            return False
        said = understanding.prediction
        if said.service_code == "other" or said.confidence < self.auto_file_threshold:
            return True
        was = find_service(self.backend.services(), str(filed.get("service_code") or ""))
        return was is not None and said.service_code == was.classifier_class

    def _more_for_the_waiting_report(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> bool:
        """A photo, or words that go on about it ("here is a photo of it", "it is a big crack in the
        sidewalk"), sent soon after a report went to a person and with nothing else since: added to that
        report (its photos and its words, which the operator reads), and the resident told so. Before, they
        began a new report ("Where is it?") that was filed on its own, while the one waiting lacked them (and
        approving it filed a duplicate). A whole other report (a kind the bot is sure of at another place),
        or one more ("also ..."), is still a report of its own."""
        text = turn.text.strip()
        if state.in_progress or state.queued or turn.point is not None or not (text or turn.media_urls):
            return False
        waiting = self.review_queue.waiting_for(session, resident.channel, resident.resident_id)
        if waiting is None or waiting.id is None or not _sent_to_review_lately(waiting, state.last_filed):
            return False
        if corrections.read(waiting.reason) is not None or corrections.read_kind(waiting.reason) is not None:
            return False  # a correction of a filed report waits there, not a report
        only_the_photo = bool(turn.media_urls) and (not text or _about_a_photo(text))
        moved_to = None if only_the_photo else self._corrected_place(text)
        if (
            moved_to is None
            and not only_the_photo
            and (_ANOTHER.search(text) or not self._goes_on_about(text, waiting))
        ):
            return False
        # Words it already holds are not added again: an auto-responder answering every reply sent the same
        # text six times over into the report an operator reads.
        said = waiting.text.split("\n") if waiting.text else []
        words = waiting.text if only_the_photo or text in said else "\n".join([*said, text])
        photos = [*waiting.media_urls, *(url for url in turn.media_urls if url not in waiting.media_urls)]
        values: dict[str, object] = {"text": words, "media_urls": photos, "updated_at": utcnow()}
        # Flagged for operators, and listed first, when the words it gains sound like an emergency.
        values["emergency"] = waiting.emergency or sounds_like_an_emergency(text)
        if moved_to is not None:
            mention, place = moved_to
            values.update(
                location_text=mention.text,
                location_kind=mention.kind,
                address_string=place.address,
                lat=place.lat,
                long=place.long,
            )
        # Only while it still waits: an operator who decided it meanwhile has decided without these.
        result = session.execute(
            update(ReviewItem)
            .where(col(ReviewItem.id) == waiting.id, col(ReviewItem.status).in_(("pending", "claimed")))
            .values(**values)
        )
        if getattr(result, "rowcount", 0) != 1:
            return False
        session.refresh(waiting)
        if moved_to is not None:
            reply.say("review_moved", place=moved_to[1].address or moved_to[0].text)
        else:
            reply.say("added_to_review")
        return True

    def _corrected_place(self, text: str) -> tuple[LocationMention, Place] | None:
        """The place "no, valencia and 17th" / "sorry, I meant ..." names, sent right after a report went to
        a person: where that report is, not a new report there. Before, it began a new report ("What is the
        problem there?"), filed on the resident's next words, while the one waiting kept the wrong place and
        approving it filed a duplicate."""
        if not _CORRECTION.search(text):
            return None
        understanding = self._understander().understand(text)
        mention, place = understanding.location, understanding.place
        if mention is None or place is None or not place.inside_jurisdiction:
            return None
        return mention, place

    def _goes_on_about(self, text: str, waiting: ReviewItem) -> bool:
        """Whether words sent after ``waiting`` went to a person say more about it: they name no place (and
        are no question of no report), or its place (not a report elsewhere)."""
        understanding = self._understander().understand(text)
        mention, place = understanding.location, understanding.place
        if mention is None:
            return not self._asks_no_report(text, understanding)  # "Is 311 open on Thanksgiving?"
        if waiting.location_text and mention.text.strip().lower() == waiting.location_text.strip().lower():
            return True
        if place is None or waiting.lat is None or waiting.long is None:
            return False
        return distance_metres(place.lat, place.long, waiting.lat, waiting.long) <= SAME_PLACE_METRES

    def _withdraw(self, session: Session, waiting: ReviewItem, words: str) -> bool:
        """CANCEL or "never mind" while a report waits for a person and none is in progress: the item leaves
        the queue closed, its note saying the resident withdrew it (with their words). False when an
        operator decided it meanwhile."""
        now = utcnow()
        note = f'Withdrawn by the resident: "{_quoted(words)}"' if words else "Withdrawn by the resident"
        result = session.execute(
            update(ReviewItem)
            .where(col(ReviewItem.id) == waiting.id, col(ReviewItem.status).in_(("pending", "claimed")))
            .values(status="closed", rejection_reason=note, decided_at=now, updated_at=now)
        )
        if getattr(result, "rowcount", 0) != 1:
            return False
        session.refresh(waiting)
        return True

    def _report_queued(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> None:
        """The next reports of a message that made several, while the one before is done."""
        while state.queued and not state.in_progress:
            text = state.queued.pop(0)
            self._report(session, replace(turn, text=text, point=None, media_urls=()), state, resident, reply)

    def _language(
        self,
        turn: Turn,
        resident: Resident,
        command: ResidentCommand | None,
        small_talk: SmallTalk | None,
        *,
        answering: bool = False,
    ) -> str:
        said_in = command.language if command is not None else small_talk.language if small_talk else None
        if small_talk is not None and resident.language and (answering or small_talk.kind != "greeting"):
            # "gracias", "un momento", "sí" are few words of a language, not the resident's choice of it: the
            # one they have been writing in stays (an English resident's "gracias" was answered in Spanish
            # from then on, a Chinese resident's too). A greeting opening a conversation ("¡Hola!") is one.
            said_in = None
        before = resident.language
        # An answer keeps the language of the report, when one is known.
        kept = answering and bool(resident.language)
        if said_in is not None:  # "AYUDA", "hola": few letters, but they say which language
            resident.language = self.templates.language_for(said_in)
        elif (
            _long_enough_for_language(turn.text)
            and command is None
            and small_talk is None
            and not kept
            # A place alone ("Folsom St y 24th St", "Clement St和10th Ave") is street names, in no language:
            # the resident's own is kept (it was read as English, and the rest of the dialogue with it), or
            # none is known yet.
            and not self._only_street_names(turn.text)
        ):
            # An answer to the bot's question keeps the language of the report: "5th St and Market St"
            # after "hay un bache" was read as English and the report filed in English.
            resident.language = self.templates.language_for(_language_of(self._understander(), turn.text))
        elif turn.language_hint and not kept and not (resident.language and _wordless(turn.text)):
            # The channel's guess (X's `lang` of a tweet, a phone's language), only when the words tell none:
            # "AYUDA" and "Hay un bache enorme en Mission St y 24th St" tagged "en" were answered in English.
            # A photo or a shared location without words is no choice of a language: the one the resident
            # has been writing in stays (a Telegram photo took the app's English after Spanish messages).
            resident.language = self.templates.language_for(turn.language_hint)
        # Chinese in the script the resident writes ("街燈壞咗": zh-Hant), kept like the language itself.
        resident.language = with_script(resident.language, turn.text, before)
        return self.templates.language_for(resident.language)

    def _only_street_names(self, text: str) -> bool:
        """Whether ``text`` is a place and words too few to tell a language around it."""
        mention = self._understander().locate(text)
        if mention is None or not _names_only_a_place(text, mention):
            return False
        return not _long_enough_for_language(f"{text[: mention.start]} {text[mention.end :]}")

    # -- commands --------------------------------------------------------------------------------------

    def _command(
        self,
        session: Session,
        command: ResidentCommand,
        state: DialogueState,
        resident: Resident,
        reply: _Replies,
    ) -> None:
        if command.name == "stop":
            resident.opted_out = True
            resident.opted_out_at = utcnow()
            # The one message after STOP, so the resident knows it worked (dropped where the provider
            # confirms opt-outs itself: Twilio sends the carrier-required confirmation); with a report in
            # progress, that nothing of it was filed (it was dropped without a word).
            stopped = reply.render("stopped")
            if state.in_progress:
                # The reports kept to come after it go too, and the resident is told so (they were told they
                # would come next).
                cancelled = reply.render("cancelled_all" if state.queued else "cancelled")
                stopped = cancelled + self.templates.following_sentence(stopped, reply.language)
            _reset(state)
            reply.text(stopped, opt_out_confirmation=True)
            return
        if command.name == "start":
            # "Welcome back" only to someone who had stopped; START (Telegram's /start, every new user's
            # first message) from anyone else is a hello: how to report.
            reply.say("started" if resident.opted_out else "help")
            resident.opted_out = False
            resident.opted_out_at = None
        elif command.name == "help":
            # Sent to a resident who opted out too, as the answer to STOP is: that nothing comes until START
            # (it was the help, "Reply STATUS for updates", to someone who gets none).
            if resident.opted_out:
                reply.say("help_opted_out", opt_out_confirmation=True)
            else:
                reply.say("help")
        elif command.name == "cancel":
            if state.in_progress and state.queued:
                # Only the report asked about: the ones kept to come after it (sent while it was asked about,
                # or in the same message) come now. Before, they went too, without a word.
                _reset(state, keep_queued=True)
                reply.say("cancelled_next", excerpt=_quoted(state.queued[0]))
                self._report_queued(session, reply.turn, state, resident, reply)
                return
            if state.in_progress:
                _reset(state)
                reply.say("cancelled")
            elif command.argument is not None:
                # "CANCEL 109": a filed request cannot be withdrawn by message (GeoReport v2 has no way);
                # before, the words became a new report and went to a person. One that does not exist is
                # said so, as STATUS says it (it was "already filed").
                try:
                    found = self.backend.lookup(command.argument, session)
                except RequestUnreachable as exc:
                    reply.say(exc.reply_key)
                else:
                    key = "cancel_filed" if found is not None else "status_not_found"
                    reply.say(key, reference=command.argument)
            elif (
                waiting := self.review_queue.waiting_for(session, resident.channel, resident.resident_id)
            ) is not None and self._withdraw(session, waiting, reply.turn.text.strip()):
                # The report sent to a person is the one in progress: "nothing to cancel" was false, and the
                # operator went on to file what the resident had dropped.
                reply.say("withdrawn")
            else:
                reply.say("nothing_to_cancel")
        elif command.name == "status":
            self._status(session, command.argument, resident, reply, in_progress=state.in_progress)
        else:
            hook = self.command_hooks.get(command.name)
            text = (
                hook(session, command, resident, reply.language, thread=reply.turn.reply_to) if hook else None
            )
            reply.text(text if text is not None else reply.render("follow_unavailable"))
        # HELP, STATUS or FOLLOW in the middle of a report: the report is still waiting on its answer.
        if command.name in ("help", "start") and reply.turn.channel == "sms":
            self._remind_within_two_segments(state, reply)
        else:
            self._repeat_question(state, reply)

    def _remind_within_two_segments(self, state: DialogueState, reply: _Replies) -> None:
        """After HELP over SMS, a short reminder that the report waits on an answer, where it keeps the reply
        within the two segments the README promises. The whole question again made it three (AYUDA six: its
        accents made the accent-free help UCS-2); the question is in the resident's previous message, and
        their next one answers it with or without the reminder."""
        if not state.in_progress or not reply.messages:
            return
        help_text = reply.messages[-1].text
        reminder = self.templates.following_sentence(reply.render("help_sms_in_progress"), reply.language)
        if segments(help_text + reminder) <= 2:
            reply.say("help_sms_in_progress")

    def _repeat_question(self, state: DialogueState, reply: _Replies) -> None:
        """The question a report in progress is waiting on, again (nothing when none is in progress)."""
        if state.stage == "location":
            reply.say("ask_location")
        elif state.stage == "confirm_location":
            self._ask_confirmation(state, reply)
        elif state.stage == "category":
            self._ask_category(state, reply)
        elif state.stage == "what":
            self._ask_what(state, reply)  # "What is the problem there?" when the place is given
        elif state.stage == "attribute" and (spec := self._attribute(state)) is not None:
            self._ask_attribute(spec, state, reply)

    def _status(
        self,
        session: Session,
        reference: str | None,
        resident: Resident,
        reply: _Replies,
        *,
        in_progress: bool = False,
    ) -> None:
        # A report waiting for a person is the resident's latest too: "you have not filed a report yet"
        # would tell them it was lost.
        waiting = (
            self.review_queue.waiting_for(session, resident.channel, resident.resident_id)
            if reference is None
            else None
        )
        correction = corrections.read(waiting.reason) if waiting is not None else None
        kind = corrections.read_kind(waiting.reason) if waiting is not None else None
        if correction is not None:
            # "no, valencia and 17th" after report #4 is a correction of #4, not a report of those words.
            reply.say(
                "status_correction_in_review", reference=correction.reference, new_place=correction.after
            )
        elif kind is not None:
            reply.say(
                "status_kind_correction_in_review",
                reference=kind.reference,
                new_service=self._service_name(kind.after, reply.language),
            )
        elif waiting is not None:
            reply.say("status_in_review", excerpt=_excerpt(waiting.text))
        ref = reference or resident.last_request_id or resident.last_token
        if ref is None:
            if waiting is None:
                # In the middle of a first report, "you have not filed a report yet" and then its question
                # read as a contradiction: it is on its way.
                reply.say("status_in_progress" if in_progress else "status_none")
            return
        try:
            # STATUS with the short reference the resident was given for a token (``short_reference``).
            found = self.backend.lookup(
                full_token(session, resident.channel, resident.resident_id, ref), session
            )
        except RequestUnreachable as exc:
            reply.say(exc.reply_key)
            return
        if found is None:
            reply.say("status_not_found", reference=ref)
        elif found.service_request_id is None and found.status == "rejected":
            # A remote city refused the submission: say so, with its reason (it read "received and is
            # waiting for a number").
            reply.say(
                "token_rejected", token=short_reference(found.token or ref), reason=found.status_notes or ""
            )
        elif found.service_request_id is None:
            reply.say(
                "status_token",
                token=short_reference(found.token or ref),
                service=self._service_name(found.service_name, reply.language),
                status=self.templates.status_word(found.status, reply.language),
            )
        else:
            notes = self.templates.following_sentence(found.status_notes, reply.language)
            reply.say(
                "status",
                id=found.service_request_id,
                service=self._service_name(found.service_name, reply.language),
                status=self.templates.status_word(found.status, reply.language),
                notes=notes,
            )

    # -- answers to questions --------------------------------------------------------------------------

    def _answer_category(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> None:
        if not self._absorb_extras(turn, state, reply):
            self._ask_category(state, reply)
            return
        options = [*state.choices, SOMETHING_ELSE]
        labels = [self._service_name(code, reply.language) for code in state.choices]
        labels.append(reply.render("something_else"))
        # A label written loosely ("streetlite") is a short answer: in a sentence, a label's words found
        # loosely were no answer ("graffiti on the sidewalk at ..." read as "Road - Graffiti Complaint").
        loosely = bool(turn.choice_value) or _only_a_choice(turn.text)
        picked = _pick_option(turn.choice_value or turn.text, options, labels, loosely=loosely)
        if picked is None and not turn.choice_value and turn.text.strip():
            picked = self._service_named(turn.text, state)  # one not shown ("Litter Bin", "SWLMALB-02")
        if picked is None and not turn.choice_value and turn.text.strip():
            understander = self._understander()
            if _names_only_a_place(turn.text, understander.locate(turn.text)):
                # A place sent while the kind is asked ("Mission and 19th", "17th y Mission"; the one given
                # before, if any, is replaced): kept, and the question again. It was refused and lost, or,
                # read as words for a kind, filed at once at the old place.
                _forget_location(state)
                self._answer_location(session, turn, state, resident, reply)
                return
        # A label's words inside a whole report ("also a broken streetlight at ...") are no answer.
        if (
            (picked is None or not _only_a_choice(turn.text))
            and not turn.choice_value
            and turn.text.strip()
            and self._another_report(session, turn, state, resident, reply)
        ):
            return
        in_words = False
        if picked is None and not turn.choice_value and turn.text.strip():
            picked = self._choice_in_words(turn, state)
            in_words = picked is not None and picked != SOMETHING_ELSE and not _only_a_choice(turn.text)
        if picked is None:
            if turn.text.strip():
                reply.say("attribute_invalid")
            self._ask_category(state, reply)
            return
        placed = self._place_with_the_kind(turn, labels)
        if in_words and placed is None:
            state.words.append(turn.text.strip())  # "rats, and lots of them running around the bins"
        if picked == SOMETHING_ELSE and state.more_choices:
            # The other services of the kinds offered, before a person: with five graffiti services and
            # three choices, a litter bin's could never be chosen.
            state.choices = state.more_choices[: self.max_choices]
            state.more_choices = state.more_choices[self.max_choices :]
            self._ask_category(state, reply)
            return
        if picked == SOMETHING_ELSE:
            state.needs_review = True
        else:
            state.service_code = picked
        state.choices, state.more_choices = [], []
        if placed is not None:
            # "streetlight out at 16th and Valencia": the kind and where it is (replacing a place given
            # before, as a place alone does). Before, the place was left out and "Where is it?" asked.
            _forget_location(state)
            self._answer_location(session, placed, state, resident, reply)
            return
        self._proceed(session, turn, state, resident, reply)

    def _place_with_the_kind(self, turn: Turn, labels: Sequence[str]) -> Turn | None:
        """The answer to "What kind of problem is it?" as a turn answering "Where is it?" when it names a
        place on the map as well ("streetlight out at 16th and Valencia"): the whole answer, or the place
        alone when the rest is only the choice ("Streetlight, Valencia St"). None for a label, a number, or
        no place."""
        text = turn.text.strip()
        if turn.choice_value or not text or text.lower() in {label.lower() for label in labels}:
            return None
        understander = self._understander()
        mention = understander.locate(text)
        if mention is None:
            return None
        # An address or a corner the map does not know is still the place meant: it replaces the one given
        # before and is asked about (it was dropped, and the report filed at the old place).
        if (
            mention.kind not in ("address", "intersection")
            and understander.geocode(mention.normalized) is None
        ):
            return None
        return (
            replace(turn, text=mention.text)
            if _only_a_choice(f"{text[: mention.start]} {text[mention.end :]}")
            else turn
        )

    def _another_report(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> bool:
        """A whole new report sent while the kind of the one in progress is asked ("also a broken
        streetlight at 24th St and Mission St": a kind the classifier is sure of, not one of the choices or
        said to be another, and a place in the city): filed as its own report, and the question asked
        again; when it has a question of its own, kept to be taken up next. Before, it was "Sorry, I did not
        understand that answer" and lost."""
        text = turn.text.strip()
        if turn.media_urls or turn.point is not None or _only_a_choice(text):
            return False
        understanding = self._understander().understand(text)
        prediction, place = understanding.prediction, understanding.place
        if prediction.service_code == "other" or prediction.confidence < self.auto_file_threshold:
            return False
        if understanding.location is None or place is None or not place.inside_jurisdiction:
            return False
        offered = self._offered(state)
        if not _ANOTHER.search(text) and (
            prediction.service_code in {s.classifier_class for s in offered}
            # "Sidewalk, 220 Yonge St" (read as a sidewalk's problem) answers "graffiti on which surface?"
            or _named_in_groups(offered, self._without_the_place(text)) is not None
        ):
            return False  # the answer, with more words ("a broken streetlight, at ...")
        side = DialogueState(last_filed=state.last_filed)
        filed = _Replies(self.templates, turn, reply.language)
        self._report(session, turn, side, resident, filed)
        pending = _quoted("\n".join(state.words))
        if side.in_progress:
            # It has a question of its own (which place, a detail): asked once this report is done.
            state.queued.append(text)
            reply.say("report_kept_for_later", excerpt=_quoted(text))
        else:
            state.last_filed = side.last_filed
            for message in filed.messages:
                reply.text(message.text, choices=message.choices)
            reply.say("earlier_report", excerpt=pending)
        self._ask_category(state, reply)
        return True

    def _choice_in_words(self, turn: Turn, state: DialogueState) -> str | None:
        """The offered service the resident's own words name ("rats" for Rodents and Pests, "ratas", "the
        second one"), when the classifier reads them as one of the choices and no other."""
        text = turn.text.strip()
        if not text or turn.choice_value:
            return None
        index = _ordinal(text)
        if index is not None:
            return state.choices[index] if index < len(state.choices) else None
        offered = self._offered(state)
        said = self._without_the_place(text)
        prediction = self._understander().classify(text)
        if prediction.service_code != "other" and prediction.confidence >= _CHOICE_IN_WORDS_CONFIDENCE:
            matching = [s for s in offered if s.classifier_class == prediction.service_code]
            if len(matching) > 1:
                # Services that share the class: the one the words name ("graffiti on the sidewalk").
                named = _named_service(matching, said)
                matching = [named] if named is not None else matching
            if len(matching) == 1:
                return matching[0].code
        # Words for one of the services sharing a class that the classifier reads as another kind ("it's on
        # a litter bin"): their names and keywords.
        named = _named_in_groups(offered, said)
        return named.code if named is not None else None

    def _service_named(self, text: str, state: DialogueState) -> str | None:
        """The offered kinds' service whose code or name (in any language) the answer is, shown or not."""
        said = " ".join(_WORD.findall(text.lower()))
        if not said:
            return None
        for service in self._offered(state):
            names = [service.code, service.name, *(name for _language, name in service.names)]
            if any(said == " ".join(_WORD.findall(name.lower())) for name in names):
                return service.code
        return None

    def _offered(self, state: DialogueState) -> list[ServiceSummary]:
        """The services of the kinds offered as choices, shown or not (all those that share their class)."""
        services = self.backend.services()
        codes = {*state.choices, *state.more_choices}
        classes = {s.classifier_class for s in services if s.code in codes}
        return [s for s in services if s.classifier_class in classes]

    def _without_the_place(self, text: str) -> str:
        """The words without the place they name ("Bridge St" names no bridge)."""
        mention = self._understander().locate(text)
        return text if mention is None else f"{text[: mention.start]} {text[mention.end :]}"

    def _answer_location(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> None:
        state.media_urls.extend(url for url in turn.media_urls if url not in state.media_urls)
        if turn.point is not None:
            if not self._use_point(turn.point, state, reply):
                return
        elif turn.text.strip():
            mention = self._understander().locate(turn.text)
            if mention is None and parse_small_talk(turn.text) is not None:
                # "ok", "yes", "👍" while the bot waits for a place: no place, the question again (it used
                # to be looked up, "I could not find "ok" on the map", and filed as the address the second
                # time).
                reply.say("ask_location")
                return
            if mention is None and _DONT_KNOW.search(turn.text):
                # "I don't know the address": no place to look up, and no place to keep for a person.
                state.stage = "location"
                reply.say("location_unknown")
                return
            corrected = self._kind_corrected_before_filing(turn.text, mention, state)
            if corrected and mention is None:
                if state.service_code is not None:
                    reply.say("kind_changed", service=self._service_name(state.service_code, reply.language))
                # "wait, it's actually a pothole, not a streetlight" while "Where is it?" waits: the kind
                # it is (or the choice between the two), and the place still asked. Before, the words
                # were added and the first kind filed, or they were looked up on the map.
                self._proceed(session, turn, state, resident, reply)
                return
            if mention is None and _describes_problem(
                self._understander(), state, turn.text.strip(), self.auto_file_threshold
            ):
                # "Where is it?" answered with the problem ("I want to report something" first): more of
                # the description, and the question again. Before, "a broken streetlight" was looked up
                # on the map, and the report went to a person as "I want to report something".
                self._add_words(turn.text.strip(), None, state)
                self._proceed(session, turn, state, resident, reply)
                return
            if mention is not None and (point := _written_point(mention)) is not None:
                # A map link or coordinates written ("https://maps.google.com/?q=37.7599,-122.4148", an
                # Apple Maps pin): the point, as a shared location is. Looked up as an address, it was "not
                # on the map", and after a second link sent to a person.
                link = _the_link_around(turn.text, mention)
                if not _names_only_a_place(turn.text, link):
                    # "it's by the bus stop https://maps.google.com/?q=...": the words too, as with a place
                    # written (below). They were lost, the point alone filed. (``link`` was found in the
                    # text as sent: its offsets count any space before the words.)
                    lead = len(turn.text) - len(turn.text.lstrip())
                    self._add_words(
                        turn.text.strip(), replace(link, start=link.start - lead, end=link.end - lead), state
                    )
                if not self._use_point(point, state, reply):
                    return
                self._proceed(session, turn, state, resident, reply)
                return
            query = mention.normalized if mention is not None else turn.text.strip()
            place = self._understander().geocode(query)
            state.location_text = mention.text if mention is not None else turn.text.strip()
            state.location_kind = mention.kind if mention is not None else None
            # More than the place ("at 16th and Mission, right in the bike lane, really deep"; "it's really
            # deep and my tire got flat"): the description too. Before, those words were lost.
            if mention is not None and not corrected and not _names_only_a_place(turn.text, mention):
                self._add_words(turn.text.strip(), mention, state)
            elif mention is None and place is None and _says_more_than_where(turn.text):
                # More of the problem, and no place at all: the question again, not "I could not find
                # ... on the map", and no try at a place spent (two such sentences sent it to a person).
                state.location_text = state.location_kind = None
                self._add_words(turn.text.strip(), None, state)
                if state.service_code is None and not state.needs_review:
                    self._proceed(session, turn, state, resident, reply)  # the kind, asked again
                else:
                    state.stage = "location"
                    reply.say("ask_location")
                return
            if place is not None:
                if not self._use_place(place, state, reply, query):
                    return
            else:
                state.location_attempts += 1
                if state.location_attempts < 2:
                    state.stage = "location"
                    key = _not_found_key(turn.text, mention)
                    reply.say(key, place=_quoted(state.location_text))
                    return
                # Asked twice and still not on the map: a person finds the place (a landmark the
                # gazetteer does not know, a spot described) before anything is filed. Before, the words
                # were filed as the address, whatever they were ("yes it is!", "Times Square, New York").
                self._send_to_review(session, turn, state, reply, reason="the place is not on the map")
                return
        else:
            reply.say("ask_location")
            return
        self._proceed(session, turn, state, resident, reply)

    def _kind_corrected_before_filing(
        self, text: str, mention: LocationMention | None, state: DialogueState
    ) -> bool:
        """Another kind of problem said as a correction ("wait, it's actually a pothole, not a streetlight",
        "perdón, no es una farola, es un bache", "不是坑洞，是路灯坏了") while the place of a report of a
        decided kind is asked: the words are kept and the kind becomes the one they say it is, as the
        correction right after filing reads it (``_kind_right_after_filing``: what it is not left out). When
        the classifier is unsure of it, or the words do not say what it is not, the resident chooses between
        it and the first kind. False (nothing changed) when the words say no other kind: "actually it's at
        5th and Market"."""
        if state.service_code is None or not _SAYS_IT_IS_ANOTHER.search(text) or _ADDS.search(text):
            return False
        # (``mention`` was found in ``text`` as sent: its offsets count any space around the words.)
        services = self.backend.services()
        was = find_service(services, state.service_code)
        rest = text if mention is None else f"{text[: mention.start]} {text[mention.end :]}"
        words = _what_it_is(rest)
        said = self._understander().classify(words)
        if (
            was is None
            or said.service_code in ("other", was.classifier_class)
            or said.confidence < self.offer_choices_min_confidence
            or not (matching := _services_for(services, said.service_code))
        ):
            return False
        state.words.append(text.strip())
        state.service_code, state.needs_review, state.choices, state.more_choices = None, False, [], []
        # Saying what it is not ("..., not a streetlight") leaves no doubt which of the two it is; without it
        # ("actually it's a broken streetlight" after "there's a pothole") the resident picks.
        says_what_it_is_not = _without_what_it_is_not(rest) != " ".join(rest.split())
        if says_what_it_is_not and said.confidence >= self.auto_file_threshold:
            self._decide_category(said, state, words)
        if state.service_code is None and not state.choices:
            self._offer(list(dict.fromkeys([*(s.code for s in matching), was.code])), state)
        return True

    def _add_words(self, text: str, mention: LocationMention | None, state: DialogueState) -> None:
        """More of the description, sent with a place or instead of one. When the new words are surely about
        a kind of problem: with none decided yet, the kind is decided from all the words; with another one
        decided ("wait, it's actually a pothole" after "broken streetlight"), the resident chooses between
        the two (all the words together still read as the first, so deciding again changed nothing)."""
        state.words.append(text)
        rest = text if mention is None else f"{text[: mention.start]} {text[mention.end :]}"
        said = self._understander().classify(rest)
        if said.service_code == "other" or said.confidence < self.auto_file_threshold:
            return
        services = self.backend.services()
        current = next((s.classifier_class for s in services if s.code == state.service_code), None)
        if said.service_code == current:
            return
        if current is None:
            state.service_code, state.needs_review, state.choices = None, False, []
            description = "\n".join(state.words)
            said_now = _without(description, state.location_text)
            self._decide_category(self._understander().classify(description), state, said_now)
            return
        both = [s.code for s in _services_for(services, said.service_code)] + [str(state.service_code)]
        state.service_code, state.needs_review = None, False
        self._offer(list(dict.fromkeys(both)), state)

    def _answer_confirmation(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> None:
        labels = (reply.render("confirm_yes"), reply.render("confirm_no"))
        answer = _yes_or_no(turn.choice_value or turn.text, labels)
        thanked = after_thanks(turn.text) if answer is None and turn.point is None else None
        if thanked is not None:
            # "Thanks! I appreciate it", "thanks for the quick reply": no answer, and no other place (it was
            # looked up as one, the place asked about forgotten and "Where is it?" asked); "thanks, yes" is.
            answer = _yes_or_no(thanked, labels) if thanked else None
            if answer is None and not self._names_a_place(replace(turn, text=thanked), state):
                self._ask_confirmation(state, reply)
                return
        rest = _after_yes(turn.text, labels) if answer is None and turn.point is None else None
        if rest is not None and self._says_yes_and_more(turn, rest, state):
            # "yes, near the playground": yes, and more of the description (it was looked up on the map,
            # not found, and the place asked about forgotten).
            state.words.append(rest)
            answer = YES
        if answer == YES:
            state.media_urls.extend(url for url in turn.media_urls if url not in state.media_urls)
            self._proceed(session, turn, state, resident, reply)
        elif (
            turn.media_urls
            and turn.point is None
            and (not turn.text.strip() or self._presents_a_photo(turn, state))
        ):
            # A photo with a few words about it ("here is a photo of it"): kept, and the question still
            # stands. Before, the words were looked up as the place, the place asked about forgotten and
            # "Where is it?" asked (then again after "yes").
            state.media_urls.extend(url for url in turn.media_urls if url not in state.media_urls)
            self._ask_confirmation(state, reply)
        elif answer == NO:
            if turn.point is None and state.location_kind in ("street", None) and state.location_text:
                state.rejected_street = state.location_text  # "near 19th" next: on it
            _forget_location(state)
            state.stage = "location"
            reply.say("location_rejected")
        elif turn.point is not None or turn.text.strip():
            # Another place instead of yes or no ("no, at 1355 Market St", a shared location): the answer;
            # or a spot on the street asked about ("between 16th and 17th"): that street there.
            narrowed = self._narrowed(turn, state, self._understander())
            _forget_location(state)
            self._answer_location(session, replace(turn, text=narrowed or turn.text), state, resident, reply)
        else:  # a photo alone: kept, and the question still stands
            state.media_urls.extend(url for url in turn.media_urls if url not in state.media_urls)
            self._ask_confirmation(state, reply)

    def _presents_a_photo(self, turn: Turn, state: DialogueState) -> bool:
        """Whether the words sent with a photo only present it, naming no place."""
        return _about_a_photo(turn.text) and not self._names_a_place(turn, state)

    def _names_a_place(self, turn: Turn, state: DialogueState) -> bool:
        """Whether the words name a place, or a spot on the street asked about."""
        understander = self._understander()
        if not turn.text.strip():
            return False
        return (
            understander.locate(turn.text) is not None
            or self._narrowed(turn, state, understander) is not None
        )

    def _says_yes_and_more(self, turn: Turn, rest: str, state: DialogueState) -> bool:
        """Whether the words after a yes are more about the problem, not a spot on the street asked about
        ("yes, between 16th and 17th") nor another place on the map."""
        understander = self._understander()
        if self._narrowed(replace(turn, text=rest), state, understander) is not None:
            return False
        mention = understander.locate(rest)
        return mention is None or understander.geocode(mention.normalized) is None

    @staticmethod
    def _near_rejected_street(turn: Turn, state: DialogueState, understander: Understander) -> str | None:
        """ "near 19th" after No to "Is it at SANCHEZ ST?" (the street, but not just anywhere on it): the
        corner of that street and 19th St, as the answer to the question itself is read. Before, the street
        was forgotten and "near 19th" offered 19TH AVE, across the city."""
        if turn.point is not None or not state.rejected_street or not turn.text.strip():
            return None
        return near_the_street(understander, state.rejected_street, turn.text)

    @staticmethod
    def _narrowed(turn: Turn, state: DialogueState, understander: Understander) -> str | None:
        """The answer to "Is it at <a street>?" as a spot on that street, if that is what it names."""
        # The kind is None when the street was looked up by the resident's words as they were ("Valencia").
        if turn.point is not None or state.location_kind not in ("street", None) or not state.location_text:
            return None
        return on_the_street(understander, state.location_text, turn.text)

    def _answer_attribute(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> None:
        spec = self._attribute(state)
        if spec is None:  # the catalog changed under the conversation: carry on with what is known
            state.pending_attribute = None
            self._proceed(session, turn, state, resident, reply)
            return
        answer = turn.choice_value or turn.text
        # In the words the question was asked in, or in the catalog's own.
        value = parse_attribute_answer(spec.in_language(reply.language), answer)
        if value is None:
            value = parse_attribute_answer(spec, answer)
        if value is None:
            reply.say("attribute_invalid")
            self._ask_attribute(spec, state, reply)
            return
        state.attributes[spec.code] = value
        state.pending_attribute = None
        self._proceed(session, turn, state, resident, reply)

    # -- a new report ----------------------------------------------------------------------------------

    def _report(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> None:
        point_taken = self._absorb_extras(turn, state, reply)
        text = turn.text.strip()
        if not text and not point_taken:
            return  # told the shared location is outside the city, asked for another
        if not text:
            self._ask_what(state, reply)
            return
        state.words.append(text)
        description = "\n".join(state.words)
        understanding = self._understander().understand(description)
        if len(state.words) == 1 and (
            self._kind_right_after_filing(session, turn, state, reply, understanding)
            or self._still_there_right_after_filing(session, turn, state, resident, reply, understanding)
        ):
            return
        if (
            len(state.words) == 1
            and turn.point is None
            and not state.media_urls
            and not state.has_location
            and self._asks_no_report(text, understanding)
            and not sounds_like_an_emergency(text)  # "smells like gas???" is a report, if not only one
        ):
            # "Anyone know if 311 is open on Thanksgiving?": no report, so no "Where is it?" and no report
            # in progress for the next words to join (they were filed with it, days later).
            state.words.clear()
            reply.say("not_a_report")
            return
        if len(state.words) == 1 and _names_only_a_place(text, understanding.location):
            if self._place_right_after_filing(session, turn, state, resident, reply, understanding):
                return
            # "5th St and Market St" alone is where, not what: the place is kept and the problem asked.
            state.words.clear()
            if turn.point is None:
                _forget_location(state)  # written now, it replaces a place given before ("sorry, at ...")
        else:
            place_text = understanding.location.text if understanding.location is not None else None
            self._decide_category(understanding.prediction, state, _without(description, place_text))
            if state.service_code is None and refers_to_last_report(text):
                self._same_service_as_last(session, resident, state)
        if not point_taken:
            return  # told the shared location is outside the city, asked for another
        shared = turn.point
        if shared is None and state.location_kind == "coordinates" and state.lat is not None:
            shared = GeoPoint(state.lat, state.long if state.long is not None else 0.0)  # shared before
        if shared is not None and _written_elsewhere(understanding, shared):
            # "pothole at 5th and Market" sent from across town, with the location or after it: the place
            # written is the one meant (the shared point is where the phone is); it was filed at the point.
            _forget_location(state)
        if not state.has_location:
            if understanding.place is not None:
                written = ""
                if understanding.location is not None:
                    state.location_text = understanding.location.text
                    state.location_kind = understanding.location.kind
                    written = understanding.location.normalized
                if not self._use_place(understanding.place, state, reply, written):
                    return
            elif understanding.geocoding_failed is not None:
                raise understanding.geocoding_failed
            elif understanding.location is not None:
                state.location_text = understanding.location.text
                state.location_kind = understanding.location.kind
                state.location_attempts = 1
                state.stage = "location"
                key = _not_found_key(description, understanding.location)
                reply.say(key, place=_quoted(understanding.location.text))
                return
            elif says_it_is_still_there(text) and self._at_last_reports_place(session, resident, state):
                # "Pero no lo arreglaron bien, el hoyo sigue ahí" after an update: that report's place,
                # asked about (it was "¿Dónde está?", as if it were a new problem somewhere).
                self._ask_confirmation(state, reply)
                return
        self._proceed(session, turn, state, resident, reply)

    def _asks_no_report(self, text: str, understanding: Understanding) -> bool:
        """Whether ``text`` is a question and no report: one sentence asking, the classifier sure it is none
        of the city's kinds of problem, no place, no word of a problem (``intents.keywords``). Of the 6,951
        labelled Boston messages with a question mark (of 73,306), 164 read so, none labelled with a
        kind of problem: "Where do I vote?", "Is the water fountain being turned on for the kids
        tomorrow?". A vague report is still asked where ("Can someone fix the pothole?" has a problem's
        word; "This pole was damaged back in July. Can someone take care of it?" is two sentences)."""
        prediction = understanding.prediction
        if understanding.location is None and asks_for_information(text):
            return True  # "what are your hours on Sunday?": read as noise (0.73), asked "Where is it?"
        return (
            _ONE_QUESTION.fullmatch(text) is not None
            and prediction.service_code == "other"
            and prediction.confidence >= self.auto_file_threshold
            and understanding.location is None
            and not keyword_cues(with_gloss(text))
        )

    def _place_right_after_filing(
        self,
        session: Session,
        turn: Turn,
        state: DialogueState,
        resident: Resident,
        reply: _Replies,
        understanding: Understanding,
    ) -> bool:
        """A place sent alone within the hour after a report was filed, with nothing else in progress: the
        same place again (a double send, "Haight and Ashbury" after "Haight St and Ashbury St") is that
        report, "You reported this already"; another place after "no", "sorry", "I mean" corrects the
        report's place: the resident is told where it was filed and that a person moves it, and the operator
        gets the correction in the review queue (GeoReport v2 has no way to move a request, and a remote
        city's cannot be moved by the bot). Before, each began a new report ("What is the problem there?")
        and the resident's next words ("any update?", "wait") were filed as its problem."""
        filed = _just_filed(turn, state)
        place = understanding.place
        mention = understanding.location
        if filed is None or place is None or mention is None or not place.inside_jurisdiction:
            return False
        reference = str(filed.get("reference") or "")
        service = self._service_name(str(filed.get("service") or ""), reply.language)
        if _same_place(filed, place):
            state.words.clear()
            reply.say("already_filed", reference=reference, service=service)
            return True
        if not _CORRECTION.search(turn.text):
            return False
        before = str(filed.get("address") or filed.get("place") or "")
        after = place.address or mention.text
        self.review_queue.enqueue(
            session,
            channel=turn.channel,
            resident_id=turn.resident_id,
            provider_message_id=turn.provider_message_id,
            reply_to=turn.reply_to,
            language=self._written_in(turn.text.strip(), reply.language),
            text=turn.text.strip(),
            # The console reads the report to move back from this reason (``bot.review.corrections``).
            reason=corrections.reason(reference, before, after),
            location_text=mention.text,
            location_kind=mention.kind,
            address_string=place.address,
            lat=place.lat,
            long=place.long,
            service_code=filed.get("service_code"),
        )
        state.words.clear()
        reply.say("place_corrected", reference=reference, service=service, place=before, new_place=after)
        return True

    def _kind_right_after_filing(
        self,
        session: Session,
        turn: Turn,
        state: DialogueState,
        reply: _Replies,
        understanding: Understanding,
    ) -> bool:
        """Another kind of problem said right after a report was filed, as a correction ("sorry, it's
        actually a broken streetlight, not a pothole", "perdón, es una farola rota", "不是坑洞，是路灯坏了"),
        at no place or the report's own: a correction of that report's kind, as one of its place is. The
        resident is told what it was filed as and that a person changes it; the operator gets the correction
        in the review queue (GeoReport v2 has no way to change a request's service). Before, it began a new
        report ("What kind of problem is it?"), and its answers filed a second one at the same place."""
        filed = _just_filed(turn, state)
        text = turn.text.strip()
        if filed is None or not _SAYS_IT_IS_ANOTHER.search(text) or _ADDS.search(text):
            return False
        if understanding.location is not None and not (
            understanding.place is not None and _same_place(filed, understanding.place)
        ):
            return False  # another place: a report of its own, or a correction of the place
        services = self.backend.services()
        was = find_service(services, str(filed.get("service_code") or ""))
        # The kind it is, without the one it is not ("..., not a pothole" read as a pothole).
        words = _without_what_it_is_not(text)
        said = self._understander().classify(words)
        if (
            was is None
            or said.service_code in ("other", was.classifier_class)
            or said.confidence < self.auto_file_threshold
            or not (matching := _services_for(services, said.service_code))
        ):
            return False
        if len(matching) > 1:
            # Services that share the class (Toronto's four graffiti services): the one the words name
            # ("graffiti on the sidewalk"), as for a new report; else the operator picks among them.
            named = _named_service(matching, self._without_the_place(words))
            matching = [named] if named is not None else matching
        reference = str(filed.get("reference") or "")
        # What the operator reads it is now: one service, or the class in words when the city splits it.
        after = matching[0].name if len(matching) == 1 else in_words(said.service_code)
        lat, long = _filed_point(filed)
        self.review_queue.enqueue(
            session,
            channel=turn.channel,
            resident_id=turn.resident_id,
            provider_message_id=turn.provider_message_id,
            reply_to=turn.reply_to,
            language=self._written_in(text, reply.language),
            text=text,
            # The console reads the report and its new kind back from it (``bot.review.corrections``).
            reason=corrections.kind_reason(reference, was.name, after),
            location_text=filed.get("address"),
            address_string=filed.get("address"),
            lat=lat,
            long=long,
            # One of them: the console offers every service that shares its class, none chosen
            # (``decisions.kind_choices``), so a person picks which when the words do not say.
            service_code=matching[0].code,
        )
        state.words.clear()
        self._tell_kind_corrected(reply, reference, was, matching)
        return True

    def _tell_kind_corrected(
        self, reply: _Replies, reference: str, was: ServiceSummary, now: Sequence[ServiceSummary]
    ) -> None:
        """Tells the resident a person changes their report's kind: to the one service it is, or, when the
        city has several of that kind and their words did not say which, to the one of them a person picks
        (told as such: no service was chosen for them)."""
        service = self._service_name(was.code, reply.language)
        if len(now) == 1:
            new_service = self._service_name(now[0].code, reply.language)
            reply.say("kind_corrected", reference=reference, service=service, new_service=new_service)
            return
        # (``services``, not ``choices``: that is the reply's buttons.)
        services = ", ".join(self._service_name(choice.code, reply.language) for choice in now)
        reply.say("kind_corrected_choices", reference=reference, service=service, services=services)

    def _still_there_right_after_filing(
        self,
        session: Session,
        turn: Turn,
        state: DialogueState,
        resident: Resident,
        reply: _Replies,
        understanding: Understanding,
    ) -> bool:
        """ "it was never fixed", "still not fixed", "todavía no lo arreglaron" right after a report was
        filed, naming no other place nor another kind of problem: about that report, which the city has had
        for a minute. The resident is told it was filed just now and its status. Before, it was asked "Is it
        at <the report's place>?" as a problem back after an update, and yes filed the report a second time.
        Once the report is closed, the problem still there is news (``_at_last_reports_place``)."""
        filed = _just_filed(turn, state)
        text = turn.text.strip()
        reference = resident.last_request_id or resident.last_token
        if filed is None or reference is None or not says_it_is_still_there(text):
            return False
        if filed.get("reference") not in (f"#{reference}", reference):
            return False
        if understanding.location is not None and not (
            understanding.place is not None and _same_place(filed, understanding.place)
        ):
            return False
        said = understanding.prediction
        was = find_service(self.backend.services(), str(filed.get("service_code") or ""))
        sure = said.service_code != "other" and said.confidence >= self.auto_file_threshold
        if sure and (was is None or said.service_code != was.classifier_class):
            return False  # another kind of problem: not this report
        try:
            found = self.backend.lookup(reference, session)
        except RequestUnreachable:
            found = None
        if found is not None and found.status in ("closed", "rejected"):
            return False
        state.words.clear()
        service = self._service_name(str(filed.get("service") or ""), reply.language)
        shown = str(filed.get("reference") or "")
        if found is None:
            reply.say("already_filed", reference=shown, service=service)
        else:
            status = self.templates.status_word(found.status, reply.language)
            reply.say("just_filed", reference=shown, service=service, status=status)
        return True

    def _at_last_reports_place(self, session: Session, resident: Resident, state: DialogueState) -> bool:
        """Takes the place of the resident's last filed report (and its service, if none is decided);
        False when there is none or it is not known."""
        if resident.last_request_id is None:
            return False
        try:
            found = self.backend.lookup(resident.last_request_id, session)
        except RequestUnreachable:
            return False
        if found is None or found.lat is None or found.long is None:
            return False
        state.lat, state.long = found.lat, found.long
        state.address_string = found.address
        state.location_text = found.address or f"{found.lat}, {found.long}"
        if state.service_code is None:
            self._same_service_as_last(session, resident, state)
        return True

    def _same_service_as_last(self, session: Session, resident: Resident, state: DialogueState) -> None:
        """ "Another one at 17th and Valencia": the service of the resident's last report, if known."""
        reference = resident.last_request_id or resident.last_token
        if reference is None:
            return
        try:
            found = self.backend.lookup(reference, session)
        except RequestUnreachable:
            return
        service = find_service(self.backend.services(), found.service_name) if found is not None else None
        if service is not None:
            state.service_code = service.code
            state.needs_review = False
            state.choices = []

    def _absorb_extras(self, turn: Turn, state: DialogueState, reply: _Replies) -> bool:
        """Keeps the turn's photos and shared location; False when the location was refused."""
        state.media_urls.extend(url for url in turn.media_urls if url not in state.media_urls)
        return turn.point is None or self._use_point(turn.point, state, reply)

    def _decide_category(self, prediction: Prediction, state: DialogueState, said: str = "") -> None:
        """The service for the classifier's ``prediction``, or the choices to offer, or a person. ``said``:
        the resident's words without their place, which may name one of the services sharing a class."""
        ranked = [(prediction.service_code, prediction.confidence), *prediction.alternatives]
        services = self.backend.services()
        # In the city's service codes (what an operator files under), with the classifier's class kept.
        state.suggestions = [
            {"service_code": service_code, "classifier_class": code, "confidence": round(confidence, 4)}
            for service_code, code, confidence in ranked_services(ranked, services)
        ] + [
            {"service_code": None, "classifier_class": code, "confidence": round(confidence, 4)}
            for code, confidence in ranked
            if not _services_for(services, code)
        ]
        if prediction.service_code != "other" and prediction.confidence >= self.auto_file_threshold:
            matching = _services_for(services, prediction.service_code)
            named = _named_service(matching, said) if len(matching) > 1 else None
            if len(matching) == 1 or named is not None:
                # "graffiti all over the sidewalk": the catalog's words for one of the services sharing the
                # class (it was asked which surface).
                state.service_code = (named or matching[0]).code
                return
            if matching:  # the city splits this class: the resident says which
                self._offer([service.code for service in matching], state)
                return
        if (
            prediction.service_code == "other"
            or prediction.confidence < self.offer_choices_min_confidence
            # Sure of a kind of problem the city has no service for: its other services are ones the
            # classifier gives no weight ("water main break" was offered "Pot hole"); a person decides.
            or not _services_for(services, prediction.service_code)
        ):
            state.needs_review = True
            return
        choices: list[str] = []
        for code, _confidence in ranked:
            if code == "other":
                continue
            for service in _services_for(services, code):
                if service.code not in choices:
                    choices.append(service.code)
        self._offer(choices, state)
        if not state.choices:
            state.needs_review = True

    def _offer(self, codes: Sequence[str], state: DialogueState) -> None:
        """The choices to offer, at most ``max_choices``; the rest of the offered kinds' services (more of
        them share a class than fit) wait for "something else"."""
        state.choices = list(codes[: self.max_choices])
        services = self.backend.services()
        offered = {s.classifier_class for s in services if s.code in state.choices}
        state.more_choices = [
            code
            for code in codes[self.max_choices :]
            if any(s.code == code and s.classifier_class in offered for s in services)
        ]

    def _use_point(self, point: GeoPoint, state: DialogueState, reply: _Replies) -> bool:
        """Takes a shared location unless it lies outside the city (then asks again and returns False)."""
        place = self._understander().reverse(point.lat, point.long)
        if place is not None and not place.inside_jurisdiction:
            state.stage = "location"
            # The nearest address the gazetteer knows would be misleading here, and the point's figures
            # ("37.80440, -122.27120 is outside ...") mean nothing to a resident: "That point".
            reply.say("outside_area_point")
            return False
        state.lat, state.long = point.lat, point.long
        state.location_kind = "coordinates"
        state.address_string = place.address if place is not None else None
        state.location_text = state.address_string
        return True

    def _use_place(self, place: Place, state: DialogueState, reply: _Replies, written: str) -> bool:
        """Takes a geocoded place (looked up by the normalised words ``written``). Returns False when a
        question was asked instead of carrying on: the place lies outside the city (asks for another) or
        a wrong one is plausible (asks the resident to confirm it)."""
        if not place.inside_jurisdiction:
            state.stage = "location"
            reply.say("outside_area", place=place.address or state.location_text or "")
            return False
        state.lat, state.long, state.address_string = place.lat, place.long, place.address
        if needs_confirmation(place, state.location_kind, written):
            self._ask_confirmation(state, reply)
            return False
        return True

    def _ask_confirmation(self, state: DialogueState, reply: _Replies) -> None:
        state.stage = "confirm_location"
        choices = (Choice(reply.render("confirm_yes"), YES), Choice(reply.render("confirm_no"), NO))
        place = state.address_string or state.location_text or ""
        reply.say("confirm_location", place=place, choices=choices)

    # -- what is still missing -------------------------------------------------------------------------

    def _proceed(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> None:
        if not state.words:
            self._ask_what(state, reply)
            return
        if state.service_code is None and not state.needs_review:
            self._ask_category(state, reply)
            return
        if not state.has_location:
            state.stage = "location"
            reply.say("ask_location")
            return
        if state.needs_review or state.service_code is None:
            self._send_to_review(session, turn, state, reply, reason="the bot is not sure what this is")
            return
        spec = self._next_attribute(state, reply.language)
        if spec is not None:
            self._ask_attribute(spec, state, reply)
            return
        self._file(session, turn, state, resident, reply)

    @staticmethod
    def _ask_what(state: DialogueState, reply: _Replies) -> None:
        state.stage = "what"
        # A place already given (shared, or written after a photo) is not asked for again.
        if state.has_location:
            reply.say("ask_what_point")
        elif state.media_urls:
            reply.say("ask_what_photo")
        else:
            reply.say("ask_what")

    def _ask_category(self, state: DialogueState, reply: _Replies) -> None:
        state.stage = "category"
        choices = [Choice(self._service_name(code, reply.language), code) for code in state.choices]
        choices.append(Choice(reply.render("something_else"), SOMETHING_ELSE))
        reply.say("ask_category", choices=tuple(choices))

    def _next_attribute(self, state: DialogueState, language: str) -> AttributeSpec | None:
        assert state.service_code is not None
        specs = sorted(self.backend.attributes(state.service_code), key=lambda spec: spec.order)
        description = "\n".join(state.words)
        for spec in specs:
            if not spec.variable or spec.code in state.attributes:
                continue
            inferred = infer_attribute(spec.in_language(language), description)
            if inferred is None:
                inferred = infer_attribute(spec, description)
            if inferred is not None:
                state.attributes[spec.code] = inferred
            elif spec.required:
                return spec
        return None

    def _attribute(self, state: DialogueState) -> AttributeSpec | None:
        if state.service_code is None or state.pending_attribute is None:
            return None
        for spec in self.backend.attributes(state.service_code):
            if spec.code == state.pending_attribute:
                return spec
        return None

    def _ask_attribute(self, spec: AttributeSpec, state: DialogueState, reply: _Replies) -> None:
        state.stage = "attribute"
        state.pending_attribute = spec.code
        spec = spec.in_language(reply.language)
        if spec.values:
            choices = tuple(Choice(name, key) for key, name in spec.values)
            question = f"{spec.description} {reply.render('attribute_list_hint')}"
            reply.say("ask_attribute", choices=choices, question=question)
        else:
            reply.say("ask_attribute", question=spec.description)

    def _file(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident, reply: _Replies
    ) -> None:
        assert state.service_code is not None
        report = _report_key(state)
        # A photo is news even about the same problem: a report with one is filed.
        if not state.media_urls and _sent_again(state.last_filed, report):
            assert state.last_filed is not None
            service = self._service_name(state.last_filed["service"], reply.language)
            reference = state.last_filed["reference"]
            _reset(state, keep_queued=True)
            reply.say("already_filed", reference=reference, service=service)
            return
        draft = Draft(
            service_code=state.service_code,
            description="\n".join(state.words),
            channel=turn.channel,
            lat=state.lat,
            long=state.long,
            address_string=state.address_string,
            media_urls=tuple(state.media_urls),
            attributes=dict(state.attributes),
            phone=turn.resident_id if turn.channel == "sms" else None,
        )
        try:
            filed = self.backend.file(draft, session)
        except FilingRefused as exc:
            self._send_to_review(session, turn, state, reply, reason=f"the core refused it: {exc}")
            return
        follow_filed(
            session,
            filed.service_request_id,
            filed.token,
            turn.channel,
            turn.resident_id,
            reply_to=turn.reply_to,
        )
        resident.last_request_id = filed.service_request_id
        resident.last_token = filed.token
        service = self._service_name(filed.service_name, reply.language)
        address = state.address_string or state.location_text
        _reset(state, keep_queued=True)
        reference = (
            f"#{filed.service_request_id}"
            if filed.service_request_id is not None
            else short_reference(filed.token or "")
        )
        state.last_filed = {
            **report,
            "address": address,
            "reference": reference,
            "service": filed.service_name,
            "at": utcnow().isoformat(),
        }
        if filed.service_request_id is not None:
            reply.say("filed", id=filed.service_request_id, service=service)
        else:
            reply.say("filed_token", token=short_reference(filed.token or ""), service=service)

    def _send_to_review(
        self,
        session: Session,
        turn: Turn,
        state: DialogueState,
        reply: _Replies,
        *,
        reason: str,
        tell: bool = True,
    ) -> None:
        self.review_queue.enqueue(
            session,
            channel=turn.channel,
            resident_id=turn.resident_id,
            provider_message_id=turn.provider_message_id,
            reply_to=turn.reply_to,
            language=self._written_in("\n".join(state.words), reply.language),
            text="\n".join(state.words),
            media_urls=list(state.media_urls),
            suggestions=list(state.suggestions),
            reason=reason,
            location_text=state.location_text,
            location_kind=state.location_kind,
            address_string=state.address_string,
            lat=state.lat,
            long=state.long,
            attributes=dict(state.attributes),
            service_code=state.service_code,
        )
        _reset(state, keep_queued=True)
        if tell:
            reply.say("review")

    def _without_the_map(
        self,
        session: Session,
        turn: Turn,
        state: DialogueState,
        resident: Resident,
        error: GeocodingUnavailable,
    ) -> list[OutboundMessage]:
        """The turn when the map service failed (down, erring, too slow) while the resident's place was
        looked up: the report goes to a person saying so, and the resident is told the truth. Before, they
        read "I could not find "1060 W Addison St" on the map" for a good address and retyped it, and the
        second try went to a person as "the place is not on the map"."""
        language = self._language(turn, resident, None, None, answering=state.in_progress)
        reply = _Replies(self.templates, turn, language)
        text = turn.text.strip()
        mention = self._understander().locate(text) if text else None
        if text and not (state.words and _names_only_a_place(text, mention)):
            state.words.append(text)
        if mention is not None:
            state.location_text, state.location_kind = mention.text, mention.kind
        if turn.point is not None:
            state.lat, state.long = turn.point.lat, turn.point.long
        state.media_urls.extend(url for url in turn.media_urls if url not in state.media_urls)
        place = state.location_text or error.query
        self._send_to_review(
            session,
            turn,
            state,
            reply,
            reason=f'the map service was not answering, so "{place}" could not be looked up',
            tell=False,
        )
        reply.say("map_unavailable", place=_quoted(place))
        return reply.messages

    def _written_in(self, text: str, reply_language: str) -> str:
        """The language a report kept for a person is shown in: the one its words are written in, where the
        replies are in it or the city has none in it (Portuguese, answered in the default language, showed
        "en"), else the replies' (a short "5th and Market" from a resident answered in Spanish stays "es";
        the item's own replies are rendered in ``Templates.language_for`` of it all the same)."""
        written = self._understander().detect_language(text) if text else reply_language
        return written if self.templates.language_for(written) == reply_language else reply_language

    def _service_name(self, code_or_name: str, language: str) -> str:
        return service_name_in(self.backend.services(), code_or_name, language)


class PreparedUnderstanding:
    """An understander that remembers its answers: what ``ConversationEngine.prepare`` asked before the
    transaction is answered from memory inside it."""

    def __init__(self, inner: Understander) -> None:
        self.inner = inner
        self.auto_file_threshold = inner.auto_file_threshold
        self._answers: dict[tuple[object, ...], object] = {}

    def understand(self, text: str) -> Understanding:
        return self._ask(("understand", text), lambda: self.inner.understand(text))

    def classify(self, text: str) -> Prediction:
        return self._ask(("classify", text), lambda: self.inner.classify(text))

    def locate(self, text: str) -> LocationMention | None:
        return self._ask(("locate", text), lambda: self.inner.locate(text))

    def geocode(self, query: str) -> Place | None:
        return self._ask(("geocode", query), lambda: self.inner.geocode(query))

    def reverse(self, lat: float, long: float) -> Place | None:
        return self._ask(("reverse", lat, long), lambda: self.inner.reverse(lat, long))

    def detect_language(self, text: str) -> str:
        return self._ask(("language", text), lambda: self.inner.detect_language(text))

    def _ask(self, key: tuple[object, ...], compute: Callable[[], _T]) -> _T:
        if key not in self._answers:
            try:
                self._answers[key] = compute()
            except GeocodingUnavailable as exc:
                self._answers[key] = exc  # the turn is told of it without asking the service again
        answer = self._answers[key]
        if isinstance(answer, GeocodingUnavailable):
            raise answer
        return answer  # type: ignore[return-value]


# The turn's prepared understander, if any (per thread of execution: the engine is shared).
_turn_understander: ContextVar[PreparedUnderstanding | None] = ContextVar("turn_understander", default=None)


class _Replies:
    """Collects the replies of one turn, rendered in the resident's language."""

    def __init__(self, templates: Templates, turn: Turn, language: str) -> None:
        self.templates = templates
        self.turn = turn
        self.language = language
        self.messages: list[OutboundMessage] = []

    def render(self, key: str, **values: object) -> str:
        return self.templates.render(self.templates.key_for(key, self.turn.channel), self.language, **values)

    def say(
        self,
        key: str,
        *,
        choices: tuple[Choice, ...] = (),
        opt_out_confirmation: bool = False,
        **values: object,
    ) -> None:
        self.text(self.render(key, **values), choices=choices, opt_out_confirmation=opt_out_confirmation)

    def text(
        self, text: str, *, choices: tuple[Choice, ...] = (), opt_out_confirmation: bool = False
    ) -> None:
        last = self.messages[-1] if self.messages else None
        if last is not None and not last.choices and not (opt_out_confirmation or last.opt_out_confirmation):
            # One message per turn reads better (and costs one SMS segment less): join to the previous.
            previous = self.messages.pop()
            text = previous.text + self.templates.following_sentence(text, self.language)
        self.messages.append(
            OutboundMessage(
                channel=self.turn.channel,
                resident_id=self.turn.resident_id,
                text=text,
                # The labels of the catalog's names in the reply's script, as the text is.
                choices=tuple(
                    replace(c, label=self.templates.in_script(c.label, self.language)) for c in choices
                ),
                reply_to=self.turn.reply_to,
                opt_out_confirmation=opt_out_confirmation,
            )
        )


def _only_a_choice(text: str) -> bool:
    return len(_WORD.findall(text)) <= _CHOICE_WORDS


def _forget_location(state: DialogueState) -> None:
    state.lat = state.long = None
    state.address_string = state.location_text = state.location_kind = None
    state.location_attempts = 0


def _yes_or_no(answer: str, labels: tuple[str, str] = (YES, NO)) -> str | None:
    """YES, NO, or None when the answer is neither (then it may be another place). ``labels``: the
    buttons' Yes and No in the resident's language (a city may reword them)."""
    lowered = answer.strip().strip(".!。！").strip().lower()
    number = _NUMBER.match(lowered)
    if number:
        return {1: YES, 2: NO}.get(int(number.group(1)))
    index = _ordinal(lowered)
    if index is not None:
        return {0: YES, 1: NO}.get(index)  # "the first one", as the choices are numbered
    if lowered in (YES, labels[0].lower()) or lowered in YES_WORDS or lowered in _AFFIRMATIONS:
        return YES
    if lowered in (NO, labels[1].lower()) or lowered in NO_WORDS:
        return NO
    # "yes it is", "Yes, that's right", "no it's not", "sí, es ahí": the word, then only words that agree.
    first, *rest = _ANSWER_WORD.findall(lowered) or [""]
    if rest and all(word in _AGREEING for word in rest):
        if first in YES_WORDS or first == labels[0].lower():
            return YES
        if first in NO_WORDS or first == labels[1].lower():
            return NO
    return None


# Ways of saying yes to "Is it at ...?" besides the yes words themselves.
_AFFIRMATIONS = frozenset(
    {
        "exactly",
        "that's it",
        "thats it",
        "that's right",
        "thats right",
        "perfect",
        "that's the one",
        "sure",
        "ok",
    }
)
_ANSWER_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# Words after a yes or a no that add nothing to it.
_AGREEING = frozenset(
    [
        "it",
        "is",
        "it's",
        "its",
        "that",
        "that's",
        "thats",
        "this",
        "the",
        "place",
        "spot",
        "one",
        "right",
        "correct",
        "exactly",
        "sure",
        "please",
        "thanks",
        "thank",
        "you",
        "there",
        "yes",
        "yeah",
        "yep",
        "no",
        "not",
        "isn't",
        "isnt",
        "wrong",
        "nope",
        "sorry",
        "absolutely",
        "definitely",
        "indeed",
        "ok",
        "okay",
        "es",
        "eso",
        "ahí",
        "ahi",
        "allí",
        "alli",
        "correcto",
        "exacto",
        "así",
        "asi",
        "está",
        "esta",
        "gracias",
    ]
)


_LEADING_WORD = re.compile(r"^\W*([^\W_]+)[\s,.!;:—–-]+(\S.*)$", re.DOTALL)


def _after_yes(text: str, labels: tuple[str, str]) -> str | None:
    """The words after a yes that opens the answer ("yes, near the playground" -> "near the playground")."""
    match = _LEADING_WORD.match(text.strip())
    if match is None:
        return None
    first = match.group(1).lower()
    return match.group(2).strip() if first in YES_WORDS or first == labels[0].lower() else None


def _describes_problem(understander: Understander, state: DialogueState, text: str, threshold: float) -> bool:
    """Whether an answer to "Where is it?" that names no place is the problem instead: the first answer
    (none was looked up yet), and a category the classifier is sure of."""
    if state.stage != "location" or state.location_text is not None:
        return False
    prediction = understander.classify(text)
    return prediction.service_code != "other" and prediction.confidence >= threshold


def _excerpt(text: str, width: int = 60) -> str:
    """The start of a resident's words, enough to recognise their report by: cut at a space where the
    text has one (Chinese has none), with an ellipsis."""
    words = " ".join(text.split())
    if len(words) <= width:
        return words
    cut = words[:width]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut).rstrip(" ,.;:") + "…"


def _restore(state: DialogueState, saved: Mapping[str, Any]) -> None:
    """``state`` as it was when saved (``to_json``), in place: the caller keeps this object."""
    restored = DialogueState.from_json(saved)
    for name in DialogueState.__dataclass_fields__:
        setattr(state, name, getattr(restored, name))


def _reset(state: DialogueState, *, keep_queued: bool = False) -> None:
    """A fresh state; with ``keep_queued`` the message's other reports still wait their turn (after a
    report is filed), without it they go too (STOP, CANCEL). The last report filed is kept."""
    queued = state.queued if keep_queued else []
    last_filed = state.last_filed
    fresh = DialogueState()
    for name in DialogueState.__dataclass_fields__:
        setattr(state, name, getattr(fresh, name))
    state.queued = queued
    state.last_filed = last_filed


def _report_key(state: DialogueState) -> dict[str, Any]:
    """What makes a report the same report: its service, its place and (nearly) its words."""
    place = state.address_string or ""
    if state.lat is not None and state.long is not None:
        place = f"{state.lat:.4f},{state.long:.4f}"  # about 10 m
    words = " ".join(state.words)
    if state.location_text:
        # The place is compared as a point; in the words it would make "... at 5th and Market" another
        # report than the same words with the place sent in a second message.
        words = re.sub(re.escape(state.location_text), " ", words, flags=re.IGNORECASE)
    description = " ".join(re.sub(r"[^\w]+", " ", words.lower()).split())
    return {"service_code": state.service_code, "description": description, "place": place}


def _filed_lately(last_filed: Mapping[str, Any]) -> bool:
    """Whether the last report was filed within ``DUPLICATE_WINDOW`` (what comes that soon is about it)."""
    return _filed_within(last_filed, DUPLICATE_WINDOW)


def _filed_within(last_filed: Mapping[str, Any], window: timedelta) -> bool:
    try:
        filed_at = as_utc(datetime.fromisoformat(str(last_filed.get("at"))))
    except ValueError:
        return False
    return utcnow() - filed_at <= window


def _sent_to_review_lately(item: ReviewItem, last_filed: Mapping[str, Any] | None) -> bool:
    """Whether ``item`` went to a person within ``DUPLICATE_WINDOW``, after the last report filed."""
    sent_at = as_utc(item.created_at)
    if utcnow() - sent_at > DUPLICATE_WINDOW:
        return False
    return not last_filed or not _filed_lately(last_filed) or _filed_at(last_filed) < sent_at


def _filed_at(last_filed: Mapping[str, Any]) -> datetime:
    return as_utc(datetime.fromisoformat(str(last_filed.get("at"))))


def _sent_again(last_filed: Mapping[str, Any] | None, report: Mapping[str, Any]) -> bool:
    if not last_filed or last_filed.get("service_code") != report["service_code"]:
        return False
    if last_filed.get("place") != report["place"] or not _filed_lately(last_filed):
        return False
    # One set of words inside the other counts as alike: "huge pothole" and "there is a huge pothole".
    similarity = fuzz.token_set_ratio(str(last_filed.get("description", "")), report["description"])
    return bool(similarity >= DUPLICATE_SIMILARITY)


# Words that start a report of their own, sent right after one was filed: not more about that one.
_STARTS_A_REPORT = re.compile(
    r"\b(?:i\s+(?:want|wanna|would\s+like|'d\s+like|need|have)\s+to\s+(?:report|file|make)"
    r"|(?:new|another|different|second|other)\s+(?:report|problem|issue|complaint|one)"
    r"|quiero\s+(?:reportar|denunciar|hacer\s+un)|(?:nuevo|otro)\s+(?:problema|reporte)|problema\s+nuevo)\b"
    r"|我要报告|我想报告|我要举报|我想举报|我要報告|我想報告|我要舉報|我想舉報|新的问题|新的問題|另一个问题|另一個問題",
    re.IGNORECASE,
)
# Words that open one more report ("also a broken streetlight at ...", "otro bache en ...", "还有...").
_ANOTHER = re.compile(
    r"^\W*(?:and\s+|y\s+)?(?:also|another|plus|one\s+more|there'?s\s+also|tambi[eé]n|otr[oa]|adem[aá]s)\b"
    r"|^\W*(?:还有|還有|另外|另|也有)",
    re.IGNORECASE,
)
# A place sent again this near the one a report was just filed at is the same place (the same corner
# written another way, "Folsom St y 24th St" after "24th St y Folsom St").
SAME_PLACE_METRES = 25
# Words that open a correction of what was just sent: "no, valencia and 17th", "sorry, I meant ...",
# "perdón, quise decir ...", "不是，是 ...".
_CORRECTION = re.compile(
    r"^\W*(?:no|nope|sorry|oops|actually|correction|i\s+mean|i\s+meant|meant|perd[oó]n|quise\s+decir"
    r"|mejor\s+dicho|correcci[oó]n)\b|^\W*(?:不是|不对|不對|我是说|我是說|应该是|應該是|更正)",
    re.IGNORECASE,
)


# Words that say the problem is another than the one filed ("sorry, it's actually a broken streetlight,
# not a pothole", "oops, I meant the streetlight", "perdón, es una farola rota", "不是坑洞，是路灯坏了"):
# "actually" or "I meant", "no", "sorry" opening "it's ...", or what it is not, after a verb or a comma.
# Not "No streetlights working on my block", "Sorry to bother you, ...", "a car not a block away".
_SAYS_IT_IS_ANOTHER = re.compile(
    r"\b(?:actually|i\s+meant?|meant|in\s+fact|en\s+realidad|quise\s+decir|mejor\s+dicho)\b"
    r"|^\W*(?:no|nope|sorry|oops|my\s+bad|wrong|correction|perd[oó]n|disculp[ae]|lo\s+siento)\b[\s,.!:;-]*"
    r"(?:it'?s|it\s+is|it\s+was|that'?s|this\s+is|es|era)\b"
    r"|(?:^|[,;.]|\b(?:it'?s|it\s+is|it\s+was|that'?s|this\s+is))\s*not\s+(?:(?:really|actually|just)\s+)?"
    r"(?:a|an|the)\b(?!\s+(?:single|lot|bit|little|few)\b)"
    r"|\b(?:isn'?t|wasn'?t)\s+(?:(?:really|actually|just)\s+)?(?:a|an|the)\b"
    r"|(?:^|[,;.])\s*no\s+(?:un|una|el|la)\b|\bno\s+(?:es|era)\s+(?:un|una|el|la)\b"
    r"|其实|其實|实际上|實際上|我是说|我是說|应该是|應該是|^\W*(?:不是|不对|不對|更正)[\s，,。！!、]"
    r"|不是[^，,。！!？?\s]{1,6}[，,。]?\s*而?是",
    re.IGNORECASE,
)
# Words that add a problem rather than correct one ("sorry, also a broken streetlight", "otro bache").
_ADDS = re.compile(
    r"\b(?:also|another|too|as\s+well|one\s+more|plus|in\s+addition|tambi[eé]n|otr[oa]s?|adem[aá]s)\b"
    r"|还有|還有|另外|也有|又有",
    re.IGNORECASE,
)
# What the problem is not, in a correction of its kind: ", not a pothole", "it's not a pothole", "no es un
# bache", "不是坑洞，": left out when reading what it is (the classifier read the pothole in them).
_WHAT_IT_IS_NOT = re.compile(
    r"[,;]?\s*\b(?:(?:and|but)\s+)?(?:(?:it'?s|it\s+is|it\s+was|that'?s|this\s+is)\s+)?"
    r"(?:not|isn'?t|wasn'?t)\s+(?:(?:really|actually|just)\s+)?(?:a|an|the)\s+[^\W\d_]+(?:\s+[^\W\d_]+)?"
    r"|[,;]?\s*\bno\s+(?:(?:es|era|fue|son)\s+)?(?:un|una|unos|unas|el|la|los|las)\s+[^\W\d_]+(?:\s+[^\W\d_]+)?"
    r"|不是[^，,。！!？?\s]{1,6}[，,。]?"
    # ", not graffiti" closing the words (no article): "sorry I meant a pile of trash, not graffiti".
    r"|[,;]\s*(?:but\s+)?not\s+[^\W\d_]+(?:\s+[^\W\d_]+)?(?=[\s.!]*$)",
    re.IGNORECASE,
)


def _without_what_it_is_not(text: str) -> str:
    return " ".join(_WHAT_IT_IS_NOT.sub(" ", text).split())


# The words opening a correction ("wait, it's actually", "sorry I meant", "perdón, es"): they read as no
# kind of problem, and outweighed a short "a pile of trash" ("other" was read in "sorry I meant ...").
_CORRECTION_OPENER = re.compile(
    r"^(?:[\W_]*(?:wait|hold\s+on|sorry|oops|no|nope|my\s+bad|actually|i\s+mean|i\s+meant|meant|in\s+fact"
    r"|it'?s|it\s+is|it\s+was|that'?s|this\s+is|perd[oó]n|disculp[ae]|lo\s+siento|en\s+realidad"
    r"|quise\s+decir|mejor\s+dicho|es|era)\b)+[\W_]*",
    re.IGNORECASE,
)


def _what_it_is(text: str) -> str:
    """What a correction of the kind says the problem is: without what it is not, nor its opening words."""
    words = _without_what_it_is_not(text)
    return _CORRECTION_OPENER.sub("", words) or words


def _just_filed(turn: Turn, state: DialogueState) -> Mapping[str, Any] | None:
    """The report filed within the hour, when this turn's words are the first since it (nothing else in
    progress, no photo, no shared location): what they say may be about that report."""
    filed = state.last_filed
    if (
        filed is None
        or state.stage != "idle"
        or state.has_location
        or state.media_urls
        or turn.point is not None
        or len(state.words) > 1
        or not _filed_lately(filed)
    ):
        return None
    return filed


def _filed_point(last_filed: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The point a report was filed at (``_report_key``'s place), or (None, None) when it was an address."""
    try:
        lat, long = (float(part) for part in str(last_filed.get("place") or "").split(","))
    except ValueError:
        return None, None
    return lat, long


def _same_place(last_filed: Mapping[str, Any], place: Place) -> bool:
    """Whether ``place`` is where the last report was filed (``_report_key``'s place: a point, else an
    address)."""
    lat, long = _filed_point(last_filed)
    if lat is None or long is None:
        filed_at = str(last_filed.get("place") or "")
        return bool(filed_at) and filed_at == (place.address or "")
    return distance_metres(lat, long, place.lat, place.long) <= SAME_PLACE_METRES


def _written_elsewhere(understanding: Understanding, point: GeoPoint) -> bool:
    """Whether the words name a spot on the map (an address, a corner, a landmark: not a street, whose
    point is its middle) far from a location shared with them."""
    place = understanding.place
    if place is None or understanding.location is None:
        return False
    if understanding.location.kind not in ("address", "intersection", "landmark"):
        return False
    return distance_metres(place.lat, place.long, point.lat, point.long) > WRITTEN_PLACE_WINS_METRES


# A few words that only present a photo: "here's a photo of it", "pic", "foto", "照片", "多張相".
_ABOUT_A_PHOTO = re.compile(
    r"\b(?:photos?|pics?|pictures?|images?|fotos?|imagen(?:es)?)\b|照片|图片|圖片|相片|[张張]相", re.I
)
_PHOTO_WORDS = 8
# The most of a resident's words a reply quotes back ("I could not find \"...\" on the map").
_QUOTED_CHARS = 40


# A town named right after a place ("Broadway and 14th St in Oakland", "..., Daly City, CA", "... en
# Oakland"): capitalised words, then at most a state, ending the message.
_IN_A_TOWN = re.compile(
    r"\s*(?:,\s*|\s+(?:in|en)\s+(?:the\s+city\s+of\s+|la\s+ciudad\s+de\s+)?)"
    r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2}(?:\s*,\s*(?:[A-Z]{2}|California)\.?)?[\s.!?]*"
)


def _not_found_key(text: str, mention: LocationMention | None) -> str:
    """The reply to a place not on the map: when a town is named after it, that the bot serves one city.
    "pothole at Broadway and 14th St in Oakland" was only "not on the map", never told the city is all it
    serves. Whether the town is another the map cannot tell ("in Chinatown" is in the city): the reply says
    what is true either way."""
    if mention is not None and _IN_A_TOWN.fullmatch(text[mention.end :]):
        return "location_not_found_town"
    return "location_not_found"


# The label Apple Maps and Google Maps send before a shared pin's link.
_MAP_APP_LABEL = re.compile(r"\bdropped\s+pin\s*$", re.IGNORECASE)


def _written_point(mention: LocationMention | None) -> GeoPoint | None:
    """The point a place written as coordinates is (a map link's: "https://maps.google.com/?q=37.7,-122.4")."""
    if mention is None or mention.lat is None or mention.long is None:
        return None
    return GeoPoint(lat=mention.lat, long=mention.long)


def _the_link_around(text: str, mention: LocationMention) -> LocationMention:
    """The map link written coordinates are part of, with the label a map app sends before it ("Dropped
    Pin"), as one place: its other characters ("https://maps.google.com/?q=", "&q=Dropped%20Pin") are no
    words of the resident's. Coordinates written alone are the place as they are."""
    # The characters glued to the coordinates, up to a space: the rest of a link ("https://...?q=", "&z=15").
    start, end = mention.start, mention.end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    if (label := _MAP_APP_LABEL.search(text, 0, start)) is not None:
        start = label.start()
    return replace(mention, text=text[start:end], start=start, end=end)


def _quoted(words: str | None) -> str:
    """The resident's words as a reply quotes them back: at most ``_QUOTED_CHARS`` characters, cut at a
    word. A 1,500-character answer quoted whole cost the city 24 SMS segments for one "not on the map"."""
    text = " ".join((words or "").split())
    if len(text) <= _QUOTED_CHARS:
        return text
    cut = text[: _QUOTED_CHARS + 1].rsplit(" ", 1)[0] if " " in text[:_QUOTED_CHARS] else text[:_QUOTED_CHARS]
    return cut.rstrip(",;:") + "..."


def _about_a_photo(text: str) -> bool:
    return len(_WORD.findall(text)) <= _PHOTO_WORDS and _ABOUT_A_PHOTO.search(text) is not None


def _wordless(text: str) -> bool:
    """No letter in any script: a photo's or a shared location's empty text, numbers, signs."""
    return not any(char.isalpha() for char in text)


def _says_nothing(turn: Turn) -> bool:
    """Only numbers and signs, or one Latin letter with them ("x": a slip; it opened a report, or was
    added to the one just filed), no photo, no shared location: nothing a report could be about. One
    Chinese character may say it all ("坑")."""
    letters = [char for char in turn.text if char.isalpha()]
    slip = not letters or (len(letters) == 1 and letters[0].isascii())
    return not turn.media_urls and turn.point is None and slip


# A message that is one question: no sentence ends before its question mark.
_ONE_QUESTION = re.compile(r"(?s)\W*(?:(?![.!?]\s|[。！？]).)+?[?？][\s?？!！]*")


def _waits_with_words_of_no_kind(state: DialogueState) -> bool:
    """Whether the place is asked of words the bot knows no kind of problem in ("other", or very unsure),
    with nothing else (no photo, no place): what comes next may be a report of its own."""
    return (
        state.stage == "location"
        and bool(state.words)
        and state.needs_review
        and state.service_code is None
        and not state.choices
        and not state.media_urls
        and not state.has_location
        and state.location_text is None
    )


def _carrier_opt_in(turn: Turn) -> bool:
    """ "YES" alone on SMS: one of the carriers' opt-in words (with START and UNSTOP, which are commands
    everywhere), after which Twilio delivers to the resident again. Elsewhere "yes" is an answer."""
    return turn.channel == "sms" and turn.text.strip(" \t\r\n.!").lower() == "yes"


def _may_hold_several(turn: Turn, state: DialogueState) -> bool:
    """Whether this turn's words start a report that may be several: a photo or a shared location sent
    with them belongs to one of them, but which one the words do not say."""
    return not state.in_progress and not turn.media_urls and turn.point is None and bool(turn.text.strip())


def _services_for(services: Sequence[ServiceSummary], classifier_class: str) -> list[ServiceSummary]:
    return [service for service in services if service.classifier_class == classifier_class]


def _by_class(services: Sequence[ServiceSummary]) -> list[list[ServiceSummary]]:
    groups: dict[str, list[ServiceSummary]] = {}
    for service in services:
        groups.setdefault(service.classifier_class, []).append(service)
    return list(groups.values())


# Words of a service's name that tell nothing of which one it is.
_NAME_FILLER = frozenset(
    {"and", "or", "of", "the", "on", "in", "a", "an", "city", "de", "del", "la", "el", "y"}
)


def _telling_words(service: ServiceSummary) -> set[str]:
    """A service's names (each language's) and keywords as words and phrases, lower case."""
    terms = {keyword.lower().strip() for keyword in service.keywords}
    for name in (service.name, *(name for _language, name in service.names)):
        for part in re.split(r"\s+[-–—/|]\s+|[,;:()]", name.lower()):
            terms.add(part.strip())
            terms.update(_WORD.findall(part))
    return {term for term in terms if term and term not in _NAME_FILLER}


def _named_service(group: Sequence[ServiceSummary], text: str) -> ServiceSummary | None:
    """The one service of ``group`` (services sharing a class) whose own words ``text`` says: its name's or
    keywords' words the others do not share ("sidewalk", "litter bin"; not "graffiti", which all have)."""
    if len(group) < 2 or not text.strip():
        return None
    terms = [_telling_words(service) for service in group]
    shared = set.intersection(*terms)
    lowered = fold(text)
    named = [
        service
        for service, words in zip(group, terms, strict=True)
        if any(_says_term(lowered, fold(term)) for term in words - shared)
    ]
    return named[0] if len(named) == 1 else None


def _named_in_groups(services: Sequence[ServiceSummary], text: str) -> ServiceSummary | None:
    """The one service, among those of ``services`` that share a class with others, that ``text`` names."""
    named = [
        found
        for group in _by_class(services)
        if len(group) > 1 and (found := _named_service(group, text)) is not None
    ]
    return named[0] if len(named) == 1 else None


def _says_term(lowered: str, term: str) -> bool:
    if HAN.search(term):
        return term in lowered
    return re.search(rf"(?<!\w){re.escape(term)}(?!\w)", lowered) is not None


def _without(text: str, place_text: str | None) -> str:
    """``text`` without the place written in it."""
    if not place_text:
        return text
    return re.sub(re.escape(place_text), " ", text, flags=re.IGNORECASE)


def _pick_option(
    answer: str, values: Sequence[str], labels: Sequence[str], *, loosely: bool = True
) -> str | None:
    """An answer by number ("2", "#2", "2.") or by words (the label, ``loosely`` with typos) → the option's
    value."""
    answer = answer.strip()
    if not answer:
        return None
    if answer in values:
        return answer
    number = _NUMBER.match(answer)
    if number:
        index = int(number.group(1)) - 1
        return values[index] if 0 <= index < len(values) else None
    lowered = answer.lower()
    for value, label in zip(values, labels, strict=True):
        if lowered == label.lower() or lowered == value.lower():
            return value
    if not loosely:
        return None
    best = process.extractOne(lowered, [label.lower() for label in labels], scorer=fuzz.WRatio)
    if best is not None and best[1] >= 85:
        return values[best[2]]
    return None


def parse_attribute_answer(spec: AttributeSpec, answer: str) -> str | list[str] | None:
    """The resident's answer as the core takes it, or None when it does not fit the attribute."""
    answer = answer.strip()
    if not answer:
        return None
    keys = [key for key, _ in spec.values]
    names = [name for _, name in spec.values]
    if spec.datatype in ("singlevaluelist", "multivaluelist") and _DONT_KNOW.search(answer):
        # "no idea", "not sure": none of the values, unless one is named so (it was "No", read loosely).
        exact = _pick_option(answer, keys, names, loosely=False)
        if exact is None:
            return None
        return exact if spec.datatype == "singlevaluelist" else [exact]
    if spec.datatype == "singlevaluelist":
        return _pick_option(answer, keys, names) or _list_answer_in_words(answer, spec.values)
    if spec.datatype == "multivaluelist":
        if re.fullmatch(r"[\d\s,;&#.]+|[\d\s,;&#.]*(and|y|和)[\d\s,;&#.]*", answer.lower()):
            picked = [int(n) - 1 for n in _NUMBERS.findall(answer)]
            if picked and all(0 <= index < len(keys) for index in picked):
                return list(dict.fromkeys(keys[index] for index in picked))
            return None
        found = _names_in(answer, spec.values)
        if found:
            return found
        single = _pick_option(answer, keys, names) or _list_answer_in_words(answer, spec.values)
        return [single] if single is not None else None
    if spec.datatype == "number":
        return number_answer(spec.description, answer)  # "about 3 weeks" to "How many days...?" is 21
    if spec.datatype == "datetime":
        try:
            return datetime.fromisoformat(answer).isoformat()
        except ValueError:
            return None
    return answer


def _list_answer_in_words(answer: str, values: Sequence[tuple[str, str]]) -> str | None:
    """A list's value said by its place ("the first one obviously") or, where the list is a yes and a no, by a
    yes or a no that opens more words ("yes it's offensive, it's a slur", "no, just tags")."""
    index = _ordinal(answer)
    if index is not None:
        return values[index][0] if index < len(values) else None
    first = _ANSWER_WORD.findall(answer.lower())[:1]
    if not first:
        return None
    for words in (YES_WORDS, NO_WORDS):
        if first[0] in words:
            said = [key for key, name in values if name.lower() in words or key.lower() in words]
            return said[0] if len(said) == 1 else None
    return None


def infer_attribute(spec: AttributeSpec, description: str) -> str | list[str] | None:
    """A list value the resident's words already name ("the light is flickering" → flickering)."""
    if not spec.values:
        return None
    found = _names_in(description, spec.values)
    if spec.datatype == "singlevaluelist":
        return found[0] if len(found) == 1 else None
    return found or None


def _names_in(text: str, values: Sequence[tuple[str, str]]) -> list[str]:
    lowered = text.lower()
    found: list[str] = []
    for key, name in values:
        for word in {name.lower(), key.lower().replace("_", " ")}:
            if len(word) >= 3 and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", lowered):
                found.append(key)
                break
    return found


# Words around a place that say nothing of a problem ("at 452 Hanover St", "corner of 16th and Valencia",
# "sorry, I meant 5th and Market").
_PLACE_WORDS = frozenset(
    [
        "sorry",
        "oops",
        "i",
        "meant",
        "mean",
        "actually",
        "no",
        "perdón",
        "perdon",
        "quise",
        "decir",
        "mejor",
        "dicho",
        "correction",
        "不是",
        "不对",
        "不對",
        "是",
        "我是说",
        "我是說",
        "at",
        "on",
        "in",
        "near",
        "by",
        "the",
        "a",
        "an",
        "corner",
        "of",
        "and",
        "intersection",
        "between",
        "located",
        "it",
        "is",
        "its",
        "s",
        "here",
        "there",
        "please",
        "en",
        "la",
        "el",
        "esquina",
        "de",
        "y",
        "cerca",
        "calle",
    ]
)
# The same in Chinese, written without spaces ("在Stockton街和Clay街的路口", "就在...附近"): taken out of the
# words around a place before they are read. "的路口" was a word of no place, and the place refused while
# the kind was asked.
_PLACE_WORDS_ZH = re.compile(
    "我是说|我是說|不是|不对|不對|就在|位于|位於|靠近|接近|附近|旁边|旁邊|一带|一帶|之间|之間|中间|中間"
    "|十字路口|路口|街口|交叉口|交界处|交界處|交界|转角|轉角|拐角|对面|對面|这里|這裡|那里|那裡"
    "|[在的和与與跟是处處]"
)
_WORD = re.compile(r"[^\W_]+")
# An answer to "Where is it?" of this many words, not found on the map, says something: kept in the
# description ("it's really deep and my tire got flat"), where a name ("misison") is not.
_WORDS_OF_A_SENTENCE = 4
# ... unless it reads as a place described ("behind the old blue bakery", "the playground behind the
# school"): a place's cue or head noun anywhere in it makes it a try at where, not more of what.
_DESCRIBES_A_PLACE = re.compile(
    r"\b(?:at|near|by|behind|beside|outside|inside|next|across|front|opposite|along|between|corner|"
    r"school|park|playground|church|library|station|store|shop|market|hospital|building|garden|plaza|"
    r"square|parking|lot|house|apartment|bridge|stop|mall|alley|"
    r"cerca|detr[aá]s|frente|lado|entre|esquina|escuela|parque|tienda|iglesia|edificio|casa)\b"
    r"|在|旁边|旁邊|对面|對面|附近|门口|門口|学校|學校|公园|公園"
    r"|路口|街口|大道|码头|碼頭|广场|廣場|医院|醫院|车站|車站|大楼|大樓|大厦|大廈|图书馆|圖書館|教堂|商场|商場"
    r"|超市|市政厅|市政廳|[0-9０-９]+号|[0-9０-９]+號",
    re.IGNORECASE,
)


# "at" telling when, not where ("it's very dark, dangerous at night"): no place's cue. It was, and the words
# were looked up on the map ("I could not find ... on the map", a try spent, the words lost).
_AT_A_TIME = re.compile(
    r"\bat\s+(?:night|nights|nighttime|dawn|dusk|noon|midnight|times|once|first|last|least|all|any\s+time"
    r"|the\s+(?:moment|same\s+time|end\s+of\s+the\s+day|weekends?)|weekends?|rush\s+hour"
    r"|\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.)?(?![\w/]))",
    re.IGNORECASE,
)
# Chinese has no spaces between words: this many of its characters are a sentence ("很暗，晚上很危险", 7),
# where a name is shorter ("市政厅", "渔人码头"). Counted by its runs between commas, it was two words, and
# looked up on the map.
_HAN_OF_A_SENTENCE = 6


def _says_more_than_where(text: str) -> bool:
    """Whether an answer to "Where is it?" that is no place on the map tells more of the problem."""
    said = len(_WORD.findall(text)) >= _WORDS_OF_A_SENTENCE or len(HAN.findall(text)) >= _HAN_OF_A_SENTENCE
    return said and _DESCRIBES_A_PLACE.search(_AT_A_TIME.sub(" ", text)) is None


def _names_only_a_place(text: str, mention: LocationMention | None) -> bool:
    """Whether ``text`` is a place and nothing more (the words around ``mention`` name no problem)."""
    if mention is None:
        return False
    rest = _PLACE_WORDS_ZH.sub(" ", f"{text[: mention.start]} {text[mention.end :]}")
    return all(word.lower() in _PLACE_WORDS for word in _WORD.findall(rest))


def _words_instead_of_a_report(
    turn: Turn,
    state: DialogueState,
    resident: Resident | None,
    waiting: Callable[[], object | None] = lambda: None,
) -> tuple[ResidentCommand | None, SmallTalk | None]:
    """A command, or while no report is in progress (during one, "ok" may answer the bot's question) a
    greeting or thanks, or a question about the resident's last report ("any update?", answered as STATUS:
    a report filed, or one still ``waiting`` for a person); none of them when the turn carries a photo (it is
    news). A shared location sent with them (a phone that adds one to every message) is left out, but where
    the bot asks where: there it is the answer."""
    if not turn.text or turn.media_urls:
        return None, None
    command = parse_command(turn.text)
    if command is not None:
        # STOP, STATUS with the phone's location were filed as a report of "STOP" at that point.
        return command, None
    if turn.point is not None and state.stage in ("location", "confirm_location"):
        return None, None
    if state.in_progress:
        # "wait", "hold on" answer no question (filed as the problem, "wait" went to a person), and a short
        # question about a report is asked in every state: while "What is the problem there?" waited,
        # "any update?" was filed as the problem.
        small_talk = parse_small_talk(turn.text)
        if small_talk is not None and small_talk.kind == "filler":
            return None, small_talk
        # "thanks", "ok", "hi" while the problem, its kind or its place is asked: no answer, the question
        # again ("thanks" after "What is the problem there?" went to a person as the report "thanks").
        # "ok" does answer "Is it at ...?", and may be an attribute's value.
        if small_talk is not None and small_talk.kind != "answer" and state.stage in _ASKED_NOT_ANSWERED:
            return None, small_talk
        # So is "Is it at ...?", unless the words are a yes ("ok", "perfect"): "gracias" was taken for another
        # place, the place asked about forgotten and "Where is it?" asked.
        # "thanks, yes" is a yes.
        if small_talk is not None and state.stage == "confirm_location" and _yes_or_no(turn.text) is None:
            thanked = after_thanks(turn.text)
            if not thanked or _yes_or_no(thanked) is None:
                return None, small_talk
        asked_in = status_question_language(turn.text)
        if asked_in is not None and len(_WORD.findall(turn.text)) <= _STATUS_QUESTION_IN_PROGRESS:
            return ResidentCommand("status", language=asked_in), None
        return None, None
    # Small talk first: "muchas gracias ya lo arreglaron" is thanks, not the question "¿ya lo arreglaron?".
    small_talk = parse_small_talk(turn.text)
    if small_talk is not None:
        return None, small_talk
    asked_in = status_question_language(turn.text)
    if (
        resident
        and asked_in is not None
        and (
            resident.last_request_id
            or resident.last_token
            or waiting() is not None
            # "any update?" from someone who reported nothing here is no report either (it was asked
            # "Where is it?"); a longer question may be the report ("Why hasn't the pothole at ...").
            or len(_WORD.findall(turn.text)) <= _SHORT_STATUS_QUESTION
        )
    ):
        return ResidentCommand("status", language=asked_in), None
    return None, None


_SHORT_STATUS_QUESTION = 4
# The questions thanks or a greeting does not answer.
_ASKED_NOT_ANSWERED: frozenset[Stage] = frozenset({"what", "category", "location"})
# During a report a question about one is its whole message ("any update on my report?"): a longer one
# with the words in it ("why hasn't my streetlight been fixed, it's been out for a month") may be the problem.
_STATUS_QUESTION_IN_PROGRESS = 6


def _language_of(understander: Understander, text: str) -> str:
    """The language ``text`` is written in. Chinese around a place written in English ("不是，Clement St和9th
    Ave") is Chinese: the street names, most of its letters, made it English (the correction was answered in
    English, and the replies after it)."""
    if HAN.search(text) and (mention := understander.locate(text)) is not None:
        around = f"{text[: mention.start]} {text[mention.end :]}"
        if len(HAN.findall(around)) >= MIN_CJK_FOR_LANGUAGE:
            text = around
    return understander.detect_language(text)


def _long_enough_for_language(text: str) -> bool:
    text = text.strip()
    return len(text) >= MIN_TEXT_FOR_LANGUAGE or len(HAN.findall(text)) >= MIN_CJK_FOR_LANGUAGE
