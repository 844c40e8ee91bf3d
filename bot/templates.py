"""Every reply the bot sends, from templates in configuration, in the resident's language.

The bundled ``bot/templates/{en,es,zh}.toml`` hold every key; ``conversation.templates_file`` may point at
a TOML file with ``[en]``, ``[es]``, ``[zh]`` (or other language) tables that override some keys. A key a
language lacks falls back to the default language, then to English. Unknown keys and placeholders the bot
does not fill are refused when the file is loaded, so a typo in a city's file fails at start-up, not in a
resident's conversation.

Residents who write traditional characters (language ``zh-Hant``, see ``bot.chinese_script``) read the
``[zh]`` replies converted to traditional, the city's ``[zh]`` rewording included; a ``[zh-Hant]`` table
in the city's file gives them wording of its own, key by key, before that.

Any key may use ``{example_corner}``: the city's two example streets (``conversation.example_streets``)
joined by the ``example_corner`` template of the reply's language ("5th St and Market St", "5th St y
Market St"), so a city names its own corner once instead of rewording every reply that gives one. Any key
may also use ``{program}`` (``conversation.program_name``) and ``{help_contact}`` (the ``help_contact``
sentence with ``conversation.help_contact``, empty while that is unset). A channel may have a key of its
own for a reply (``CHANNEL_KEYS``: HELP over SMS is ``help_sms``, as US carriers require it).
"""

from __future__ import annotations

import difflib
import logging
import string
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.chinese_script import TRADITIONAL, is_traditional, to_traditional
from bot.clock import DEFAULT_TIME_ZONE, local_date

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).parent / "templates"
BUNDLED_LANGUAGES = ("en", "es", "zh")
# The placeholders each key may use.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "filed": frozenset({"id", "service"}),
    "filed_token": frozenset({"token", "service"}),
    "already_filed": frozenset({"reference", "service"}),
    "place_corrected": frozenset({"reference", "service", "place", "new_place"}),
    "review_moved": frozenset({"place"}),
    "location_not_found": frozenset({"place"}),
    "location_not_found_town": frozenset({"place"}),
    "map_unavailable": frozenset({"place"}),
    "outside_area": frozenset({"place"}),
    "confirm_location": frozenset({"place"}),
    "ask_attribute": frozenset({"question"}),
    "status": frozenset({"id", "service", "status", "notes"}),
    "status_token": frozenset({"token", "service", "status"}),
    "status_not_found": frozenset({"reference"}),
    "cancel_filed": frozenset({"reference"}),
    "photo_added": frozenset({"id"}),
    "words_added": frozenset({"id"}),
    "status_in_review": frozenset({"excerpt"}),
    "status_correction_in_review": frozenset({"reference", "new_place"}),
    "earlier_report": frozenset({"excerpt"}),
    "report_kept_for_later": frozenset({"excerpt"}),
    "kind_corrected": frozenset({"reference", "service", "new_service"}),
    "kind_changed": frozenset({"service"}),
    "kind_corrected_choices": frozenset({"reference", "service", "services"}),
    "status_kind_correction_in_review": frozenset({"reference", "new_service"}),
    "kind_kept": frozenset({"reference", "service"}),
    "just_filed": frozenset({"reference", "service", "status"}),
    "cancelled_next": frozenset({"excerpt"}),
    "review_approved": frozenset({"id", "service"}),
    "review_approved_token": frozenset({"token", "service"}),
    "review_rejected": frozenset({"reason"}),
    "status_update": frozenset({"id", "service", "status", "notes", "expected"}),
    "status_update_same_status": frozenset({"id", "service", "status", "notes", "expected"}),
    "request_moved": frozenset({"id", "service", "place"}),
    "request_recategorised": frozenset({"id", "service"}),
    "expected_by": frozenset({"date"}),
    "example_corner": frozenset({"first", "second"}),
    "followed": frozenset({"id", "service"}),
    "already_following": frozenset({"id"}),
    "unfollowed": frozenset({"id"}),
    "not_following": frozenset({"id"}),
    "token_filed": frozenset({"token", "id", "service"}),
    "token_rejected": frozenset({"token", "reason"}),
    "token_in_review": frozenset({"token"}),
    "help_contact": frozenset({"contact"}),
}
# Every key but example_corner itself may give the city's example corner.
EXAMPLE_CORNER = "example_corner"
# Any key may also name the program ({program}: conversation.program_name) and how to reach a person
# ({help_contact}: the help_contact template with conversation.help_contact, empty when that is unset).
PROGRAM = "program"
HELP_CONTACT = "help_contact"
# Replies a channel has words of its own for: over SMS, HELP is answered as US carriers require of a
# messaging program (CTIA): its name, a person to contact, "Msg&data rates may apply", how to opt out.
# On X, HELP and STOP speak of mentions and direct messages, not texts, and give a person to contact.
CHANNEL_KEYS: dict[tuple[str, str], str] = {
    ("help", "sms"): "help_sms",
    ("help", "twitter"): "help_twitter",
    ("stopped", "twitter"): "stopped_twitter",
    ("help_opted_out", "sms"): "help_sms_opted_out",
    ("help_opted_out", "twitter"): "help_opted_out_twitter",
}
# San Francisco's, the default city's.
DEFAULT_EXAMPLE_STREETS = ("5th St", "Market St")


# The statuses with a word of their own in every language (``status_word_{status}``): a request's, and a
# reference's still waiting for a number (the embedded core's "received"; a remote city's "pending",
# "rejected").
_STATUS_WORDS = frozenset({"open", "closed", "received", "pending", "rejected"})
# Languages that write no space after a full stop, and end a sentence with "。".
_NO_SPACE_BETWEEN_SENTENCES = frozenset({"zh", "ja"})
# What ends a sentence already, also before closing quotes or brackets ('Done (see photo).', '"Fixed."').
_SENTENCE_ENDS = (".", "!", "?", "…", "。", "！", "？", "．")
# The ones English writes a space after, also before Chinese ("Lamp replaced. 回复").
_LATIN_SENTENCE_ENDS = (".", "!", "?", "…")
_CLOSING = "\"')]}»”’」』）】"


class TemplateError(ValueError):
    """A templates file cannot be used; the message names the file, language and key."""


class Templates:
    def __init__(
        self,
        by_language: Mapping[str, Mapping[str, str]],
        default_language: str = "en",
        *,
        time_zone: tzinfo | None = None,
        example_streets: Sequence[str] = DEFAULT_EXAMPLE_STREETS,
        program_name: str = "311",
        help_contact: str = "",
    ) -> None:
        self._by_language = {lang: dict(keys) for lang, keys in by_language.items()}
        self.program_name = program_name
        self.help_contact = help_contact
        self.default_language = default_language if default_language in self.languages else "en"
        # The city's: a date a resident reads is the day it is there ("Expected by ...").
        self.time_zone = time_zone or ZoneInfo(DEFAULT_TIME_ZONE)
        self.example_streets = tuple(example_streets)

    def date(self, moment: datetime) -> str:
        """The day of ``moment`` (stored in UTC) in the city: "2026-12-01" for a crew's 8 pm in Chicago."""
        return local_date(moment, self.time_zone)

    @property
    def languages(self) -> frozenset[str]:
        """The languages replies can be written in: each table's, and Chinese in traditional characters."""
        return frozenset(self._by_language) | ({TRADITIONAL} if "zh" in self._by_language else set())

    def language_for(self, language: str | None) -> str:
        """The language replies are written in: the resident's when we have it, else the default. Chinese
        keeps its script ("zh-TW", "zh-Hant" -> "zh-Hant"); other tags their language ("es-MX" -> "es")."""
        if language:
            base = language.lower().split("-")[0].split("_")[0]
            if base in self._by_language:
                return TRADITIONAL if base == "zh" and is_traditional(language) else base
        return self.default_language

    def status_word(self, status: str, language: str | None = None) -> str:
        """A request's status as a resident reads it ("abierto"), also a reference's still waiting for a
        number ("received"; a city's: "pending", "rejected"); one without a word of its own as it is."""
        return self.render(f"status_word_{status}", language) if status in _STATUS_WORDS else status

    def following_sentence(self, text: str | None, language: str | None = None) -> str:
        """``text`` (a crew's status notes) as a sentence after another: after a space, or right after the
        full stop in Chinese ("已关闭。已填补。"); ended with the language's full stop when it has no final
        punctuation, so the sentence after it does not run on ("cerrado. Bache reparado. Responda...");
        empty when there is none. In Chinese a sentence ended with a Latin full stop ("Lamp replaced.") is
        followed by a space, as the next would be in English ("已关闭。Lamp replaced. 回复..."): it ran
        into the Chinese after it."""
        text = (text or "").strip()
        if not text:
            return ""
        lang = self.language_for(language).split("-")[0]
        if lang not in _NO_SPACE_BETWEEN_SENTENCES:
            return f" {text}" if text.rstrip(_CLOSING).endswith(_SENTENCE_ENDS) else f" {text}."
        if text.rstrip(_CLOSING).endswith(_LATIN_SENTENCE_ENDS):
            return f"{text} "
        return text if text.rstrip(_CLOSING).endswith(_SENTENCE_ENDS) else f"{text}。"

    @staticmethod
    def key_for(key: str, channel: str | None) -> str:
        """The key a reply is rendered from on ``channel``: its channel's own (``help_sms``) if it has one."""
        return CHANNEL_KEYS.get((key, channel), key) if channel else key

    def render(self, key: str, language: str | None = None, **values: object) -> str:
        for table, traditional in self._tables(self.language_for(language)):
            text = self._by_language.get(table, {}).get(key)
            if text is not None:
                used = _placeholders(text)
                if key != EXAMPLE_CORNER and EXAMPLE_CORNER in used:
                    first, second = self.example_streets
                    corner = self.render(EXAMPLE_CORNER, table, first=first, second=second)
                    values = {EXAMPLE_CORNER: corner, **values}
                if PROGRAM in used:
                    values = {PROGRAM: self.program_name, **values}
                if key != HELP_CONTACT and HELP_CONTACT in used:
                    contact = self.help_contact
                    contact = contact and self.render(HELP_CONTACT, table, contact=contact)
                    values = {HELP_CONTACT: contact, **values}
                rendered = text.format_map({name: str(value) for name, value in values.items()})
                # A space a value ends with (a following sentence in Chinese) does not end the message.
                rendered = rendered if text[-1:].isspace() else rendered.rstrip()
                # The values too: the catalog's zh name of the service, an operator's reason.
                return to_traditional(rendered) if traditional else rendered
        raise KeyError(f"no template {key!r}")

    def in_script(self, text: str, language: str | None = None) -> str:
        """``text`` (a choice's label: a service's or an attribute value's zh name) in the script replies
        in ``language`` are written in: traditional characters for ``zh-Hant``, else as it is."""
        return to_traditional(text) if self.language_for(language) == TRADITIONAL else text

    def _tables(self, language: str) -> Iterator[tuple[str, bool]]:
        """The tables a key is looked up in, in order, each with whether its text is to be converted to
        traditional characters: the language's, then its base language's ("zh-Hant", then "zh"), the
        default language's, English."""
        for tag in (language, self.default_language, "en"):
            for table in dict.fromkeys((tag, tag.split("-")[0])):
                yield table, tag == TRADITIONAL


# The settings the missing help_contact was last named for: an app builds its templates twice (the
# conversation's and the console's) from one Settings, and the operator should read the warning once.
_warned_settings: Settings | None = None


def configured_templates(settings: Settings) -> Templates:
    """The templates a deployment replies with: ``[conversation]``'s file, default language and example
    streets, in the city's time zone."""
    global _warned_settings
    conversation = settings.conversation
    if settings.twilio.enabled and not conversation.help_contact and settings is not _warned_settings:
        _warned_settings = settings
        log.warning(
            "conversation.help_contact is not set: the SMS HELP reply names no person to contact, which US "
            "carriers require of a messaging program (set it to the city's 311 number or web page, \"311, "
            'sf311.org")'
        )
    return load_templates(
        conversation.templates_file,
        conversation.default_language,
        time_zone=settings.city_zone,
        example_streets=conversation.example_streets,
        program_name=conversation.program_name,
        help_contact=conversation.help_contact,
    )


def load_templates(
    override_file: Path | None = None,
    default_language: str = "en",
    *,
    time_zone: tzinfo | None = None,
    example_streets: Sequence[str] = DEFAULT_EXAMPLE_STREETS,
    program_name: str = "311",
    help_contact: str = "",
) -> Templates:
    by_language: dict[str, dict[str, str]] = {}
    for language in BUNDLED_LANGUAGES:
        path = BUNDLED_DIR / f"{language}.toml"
        by_language[language] = _read_table(path, tomllib.loads(path.read_text(encoding="utf-8")), language)
    known_keys = set(by_language["en"])
    if override_file is not None:
        try:
            data = tomllib.loads(override_file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise TemplateError(f"templates file {override_file} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise TemplateError(f"templates file {override_file} is not valid TOML: {exc}") from exc
        for language, table in data.items():
            if not isinstance(table, dict):
                raise TemplateError(f"{override_file}: [{language}] must be a table of templates")
            unknown = set(table) - known_keys
            if unknown:
                raise TemplateError(f"{override_file}: [{language}] {_unknown_keys(unknown, known_keys)}")
            keys = _read_table(override_file, table, language)
            by_language.setdefault(language, {}).update(keys)
    if default_language not in by_language and default_language != TRADITIONAL:
        raise TemplateError(f"no templates for the default language {default_language!r}")
    return Templates(
        by_language,
        default_language,
        time_zone=time_zone,
        example_streets=example_streets,
        program_name=program_name,
        help_contact=help_contact,
    )


def _read_table(source: Path, table: Mapping[str, object], language: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for key, text in table.items():
        if not isinstance(text, str):
            raise TemplateError(f"{source}: [{language}] {key} must be a string")
        used = _placeholders(text)
        allowed = PLACEHOLDERS.get(key, frozenset()) | ({EXAMPLE_CORNER, PROGRAM, HELP_CONTACT} - {key})
        if not used <= allowed:
            raise TemplateError(
                f"{source}: [{language}] {key} uses {sorted(used - allowed)}; it may use {sorted(allowed)}"
            )
        keys[key] = text
    return keys


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _unknown_keys(unknown: set[str], known: set[str]) -> str:
    """What is wrong with keys no template has, the closest known key for each, and every key there is: a
    city's deployer had no list but the bundled en.toml."""
    problems = []
    for key in sorted(unknown):
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
        problems.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    return (
        f"has unknown keys {', '.join(problems)}; the keys are {', '.join(sorted(known))} "
        "(each in bot/templates/en.toml with its placeholders)"
    )
