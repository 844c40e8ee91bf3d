"""What a public reply may repeat: never a phone number, an email or an exact home address."""

from __future__ import annotations

import pytest

from channels.redaction import has_private_details, redact_private_details


@pytest.mark.parametrize(
    ("text", "public"),
    [
        ("Call me at 415-555-0134", "Call me at [phone]"),
        ("or (415) 555 0134 / 415.555.0134", "or [phone] / [phone]"),
        ("text +14155550134 or +1 415 555 0134", "text [phone] or [phone]"),
        ("write to ana.rivera+311@example.org please", "write to [email] please"),
        ("Pothole at 1450 Valencia St, Apt 3, filed.", "Pothole at the 1400 block of Valencia St, filed."),
        ("Leak at 22 N. Main Street #12", "Leak at the 0 block of N. Main Street"),
        ("Tree down at 301 Van Ness Avenue", "Tree down at the 300 block of Van Ness Avenue"),
        # The geocoder's capitals, as the bot's "Is it at ...?" repeats them (were posted as they were).
        (
            "Is it at 1400 VALENCIA ST, San Francisco, CA?",
            "Is it at the 1400 block of VALENCIA ST, San Francisco, CA?",
        ),
        ("Filed at 1355 MARKET ST APT 5, SF", "Filed at the 1300 block of MARKET ST, SF"),
    ],
)
def test_private_details_are_removed_or_widened(text: str, public: str) -> None:
    assert redact_private_details(text) == public
    assert has_private_details(text)


@pytest.mark.parametrize(
    "text",
    [
        "Request 101004263 filed; text STATUS 101004263 to follow it",
        "Pothole at 5th St and Market St",
        "Thanks @ana_in_sf! Open 24 hours on 16th Street.",
        "Filed on 2026-11-25 at 18:40",
        "I saw 3 cats on the way to work",
    ],
)
def test_what_is_not_private_is_left_alone(text: str) -> None:
    assert redact_private_details(text) == text
    assert not has_private_details(text)
