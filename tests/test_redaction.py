"""What the bot publishes of a resident's words: never a phone number, an email or an SSN; on X, no exact
home address either (the API's tests check it end to end: tests/open311/test_http_get_requests.py)."""

from __future__ import annotations

import pytest

from bot.redaction import has_private_details, mask_contact_details, redact_private_details


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
        ("my SSN is 123-45-6789, or 123 45 6789", "my SSN is [id number], or [id number]"),
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


@pytest.mark.parametrize(
    ("text", "public"),
    [
        (
            "Car at 2130 Harrison St, Robert Jones, phone (415) 555-0142",
            "Car at 2130 Harrison St, Robert Jones, phone [phone]",
        ),
        ("I am Maria Garcia, maria.g@example.org", "I am Maria Garcia, [email]"),
        ("my number is +1 415 555 0177, Tom", "my number is [phone], Tom"),
        ("my SSN is 123-45-6789 if you need it", "my SSN is [id number] if you need it"),
        # Not a Social Security number's shape: left alone.
        ("Request 101004263, plate 7ABC123, call 311, 12-34-5678, 123-456-789", None),
    ],
)
def test_contact_details_are_masked_and_addresses_kept(text: str, public: str | None) -> None:
    # What the Open311 API publishes: the address stays, as the request's own address field has it.
    assert mask_contact_details(text) == (public if public is not None else text)
