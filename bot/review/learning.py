"""What the bot learns from its operators.

Every decision an operator makes on a reviewed message is a labelled example: the resident's words and the
service code a person chose for them, beside what the classifier had suggested. Approving the suggestion
is agreement; picking another service is a correction, and so is rejecting it as not a problem for a city
service (labelled ``other``: a person must look). ``open311-bot train --corrections FILE`` takes them
in the labelled-data CSV format (``text,service_code,sure,location_text``), written by
``export_corrections_csv``, which leaves out the decisions the resident's words alone do not carry
(``words_carry_label``); the console shows how the classifier does on them: the agreement rate and the
pairs it confuses most.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel, col, select

from bot.clock import utcnow
from bot.open311.models import UTCDateTime
from bot.review.models import ReviewItem
from intents.keywords import keyword_cues

# The classifier's class for a message that is none of the catalog's problems ("a person must look"); an
# operator teaches it by rejecting a report as not a problem for a city service.
OTHER = "other"
OTHER_LABEL = "Not a city problem (other)"
EXPORT_COLUMNS = ("text", "service_code", "sure", "location_text", "predicted_code", "operator", "decided_at")


class LabelledExample(SQLModel, table=True):
    __tablename__ = "operator_labelled_example"

    id: int | None = Field(default=None, primary_key=True)
    decided_at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    operator: str = Field(max_length=64)
    # The review item the decision was made on (one example per item: a later decision replaces it).
    review_item_id: str = Field(index=True, unique=True, max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    language: str = Field(default="", max_length=16)
    predicted_code: str = Field(max_length=64)
    predicted_confidence: float = 0.0
    # The service code the operator chose (``OTHER`` when they rejected it as not a problem for a city
    # service); empty when the item was rejected for another reason, which teaches nothing (``rejected``).
    service_code: str = Field(default="", max_length=64)
    location_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    rejected: bool = False


@dataclass(frozen=True, slots=True)
class AgreementReport:
    examples: int
    agreed: int
    confused_pairs: list[tuple[str, str, int]]  # (suggested, chosen by a person, count), most first
    per_code: list[tuple[str, int, int]]  # (chosen code, examples, agreed), most examples first

    @property
    def agreement_rate(self) -> float | None:
        return self.agreed / self.examples if self.examples else None


def record_decision(
    session: Session,
    *,
    review_item_id: str | int,
    operator: str,
    text: str,
    predicted_code: str,
    predicted_confidence: float,
    service_code: str,
    language: str = "",
    location_text: str = "",
    rejected: bool = False,
) -> LabelledExample:
    """Adds (or replaces) the labelled example for one review item, without committing."""
    key = str(review_item_id)
    example = session.exec(select(LabelledExample).where(LabelledExample.review_item_id == key)).first()
    if example is None:
        example = LabelledExample(
            review_item_id=key, operator=operator, text=text, predicted_code=predicted_code
        )
    example.operator = operator
    example.text = text
    example.language = language
    example.predicted_code = predicted_code
    example.predicted_confidence = predicted_confidence
    example.service_code = "" if rejected else service_code
    example.location_text = location_text
    example.rejected = rejected
    example.decided_at = utcnow()
    session.add(example)
    return example


def labelled_examples(session: Session, *, include_rejected: bool = False) -> list[LabelledExample]:
    query = select(LabelledExample).order_by(col(LabelledExample.id))
    if not include_rejected:
        query = query.where(LabelledExample.rejected == False)  # noqa: E712 (SQL expression)
    return list(session.exec(query).all())


def agreement_report(session: Session, *, top: int = 10) -> AgreementReport:
    """How often operators kept the classifier's suggestion, and which suggestions they changed to what."""
    examples = labelled_examples(session)
    agreed = sum(1 for e in examples if e.service_code == e.predicted_code)
    changed = [e for e in examples if e.service_code != e.predicted_code]
    pairs = Counter((e.predicted_code, e.service_code) for e in changed)
    totals: Counter[str] = Counter(e.service_code for e in examples)
    hits: Counter[str] = Counter(e.service_code for e in examples if e.service_code == e.predicted_code)
    return AgreementReport(
        examples=len(examples),
        agreed=agreed,
        confused_pairs=[(a, b, n) for (a, b), n in pairs.most_common(top)],
        per_code=[(code, n, hits[code]) for code, n in totals.most_common()],
    )


def current_model_report(
    session: Session, classify: Callable[[str], str], *, limit: int = 500, top: int = 10
) -> AgreementReport:
    """How the model running now labels the latest ``limit`` examples, against what people chose.

    The suggestion stored with each example is what the model said *then*; after retraining with the
    corrections, this shows whether the new model has learnt them.
    """
    query = (
        select(LabelledExample)
        .where(LabelledExample.rejected == False)  # noqa: E712 (SQL expression)
        .order_by(col(LabelledExample.id).desc())
        .limit(limit)
    )
    examples = list(session.exec(query).all())
    predicted = [(classify(e.text), e.service_code) for e in examples]
    agreed = sum(1 for now, chosen in predicted if now == chosen)
    pairs = Counter((now, chosen) for now, chosen in predicted if now != chosen)
    totals: Counter[str] = Counter(chosen for _, chosen in predicted)
    hits: Counter[str] = Counter(chosen for now, chosen in predicted if now == chosen)
    return AgreementReport(
        examples=len(predicted),
        agreed=agreed,
        confused_pairs=[(a, b, n) for (a, b), n in pairs.most_common(top)],
        per_code=[(code, n, hits[code]) for code, n in totals.most_common()],
    )


# A spreadsheet runs a cell that starts with one of these as a formula ("=HYPERLINK(...)").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading single quote."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def words_carry_label(text: str, service_code: str, item: ReviewItem | None) -> bool:
    """Whether the resident's words alone carry the operator's label, so that training may learn it.

    An operator decides from the photo and from what they know ("what is this??" with a photo of graffiti;
    "the thing is broken again"); exported as a text label, that teaches that these words mean graffiti.
    The words carry it when they name a problem: one of the guide's cue words is in them
    (``intents.keywords``), or the classifier, reading the words only, put a problem before ``other``
    (its suggestions, kept on the review item, rank every class). With a photo the operator may have
    read the picture rather than the words: then the classifier must also have put the chosen service
    first. ``other`` always carries: words that name no problem are what it is. An example whose review
    item is no longer kept has only its words' cues to go by, and is kept.
    """
    if service_code == OTHER or keyword_cues(text):
        return True
    if item is None:
        return True
    ranked = sorted(
        item.suggestions, key=lambda suggestion: float(suggestion.get("confidence") or 0.0), reverse=True
    )
    first = next((str(s.get("classifier_class") or "") for s in ranked if s.get("classifier_class")), "")
    if first == OTHER:
        return False
    return not item.media_urls or first == service_code


def _review_items(session: Session, examples: list[LabelledExample]) -> dict[str, ReviewItem]:
    """The review items the examples were decided on (by ``review_item_id``), those still kept."""
    ids = [int(e.review_item_id) for e in examples if e.review_item_id.isdigit()]
    found: dict[str, ReviewItem] = {}
    for start in range(0, len(ids), 500):  # a bounded IN list, whatever the database's limit
        chunk = ids[start : start + 500]
        for item in session.exec(select(ReviewItem).where(col(ReviewItem.id).in_(chunk))).all():
            found[str(item.id)] = item
    return found


def export_corrections_csv(session: Session, path: Path) -> int:
    """Writes every operator-labelled example (rejections left out) as CSV; returns how many.

    The first four columns are those of the project's labelled data, so training reads both alike; the
    rest say where each label came from. Every cell is written as a spreadsheet shows it as text (the
    console's download and ``open311-bot operators export-corrections`` both write through here).
    A decision the resident's words alone do not carry (``words_carry_label``) is left out rather than
    marked ``unsure``: training reads every row of a corrections file as a label, ``sure`` or not.
    """
    examples = labelled_examples(session)
    items = _review_items(session, examples)
    kept = [e for e in examples if words_carry_label(e.text, e.service_code, items.get(e.review_item_id))]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for e in kept:
            row = (
                e.text,
                e.service_code,
                "sure",  # a person decided it, and the words carry it
                e.location_text,
                e.predicted_code,
                e.operator,
                e.decided_at.isoformat(),
            )
            writer.writerow([spreadsheet_safe(value) for value in row])
    return len(kept)
