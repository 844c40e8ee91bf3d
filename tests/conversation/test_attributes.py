"""Required attributes: asked one at a time in their ``order``, lists as numbered options answered by number
or words, what the message already says filled in without asking, information-only ones never asked."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from bot.clock import utcnow
from bot.config import Settings
from tests.conversation.harness import CLEAR_REPORT, filed_id, running_bot

CATALOG = Path(__file__).with_name("attributes_catalog.toml")


def test_a_spanish_speaker_is_asked_in_the_catalogs_spanish_and_answers_in_either(
    settings: Settings,
) -> None:
    with running_bot(settings, open311={"catalog_file": CATALOG}) as bot:
        ana = bot.resident("ana", language="es")
        lane = ana.ask("Hay un bache enorme en la calle en 5th St y Market St")
        assert lane.splitlines() == [
            "¿Está en un carril de carros o bicicletas? Responda con el número o con palabras.",
            "1. Sí",
            "2. No",
        ]
        size = ana.ask("sí")
        # A value the catalog does not translate keeps its own words; the answer may use either language.
        assert size.splitlines() == [
            "¿Qué tan grande es? Responda con el número o con palabras.",
            "1. Más pequeño que un plato",
            "2. Larger than a car tire",
        ]
        assert ana.ask("larger than a car tire") == "¿Qué tan profundo es, en pulgadas?"
        hazards = ana.ask("4")
        assert hazards.splitlines()[0] == "Anything else wrong there? Responda con el número o con palabras."
        filed = re.fullmatch(
            r"¡Gracias! Su reporte quedó registrado con el número #(\d+) \(Bache\)\..*", ana.ask("1")
        )
        assert filed is not None
        request_id = filed.group(1)
        stored = bot.runtime.open311.get_request(request_id)
        assert dict(stored.attributes) == {"lane": "yes", "size": "large", "depth": "4", "hazards": ["water"]}
        assert stored.service_name == "Pothole"  # the API keeps the catalog's own name
        assert ana.ask("estado") == f"El reporte #{request_id} (Bache) está abierto."


def test_required_attributes_are_asked_in_order_with_inference(settings: Settings) -> None:
    with running_bot(settings, open311={"catalog_file": CATALOG}) as bot:
        olga = bot.resident("olga")
        # "larger than a car tire" answers `size` (order 2) before it is asked.
        lane = olga.ask("There is a pothole at 5th St and Market St, larger than a car tire")
        assert lane.splitlines() == [
            "Is it in a lane where cars or bikes travel? Reply with the number or the words.",
            "1. Yes",
            "2. No",
        ]
        assert "did not understand" in olga.ask("maybe")
        helped = olga.ask("HELP").splitlines()  # the help, then the question still waiting, again
        assert "STATUS" in helped[0]
        assert helped[0].endswith(
            "Is it in a lane where cars or bikes travel? Reply with the number or the words."
        )
        assert helped[1:] == ["1. Yes", "2. No"]
        depth = olga.ask("yes")
        assert depth == "About how deep is it, in inches?"
        assert "did not understand" in olga.ask("quite deep")
        hazards = olga.ask("about 4 inches")
        assert hazards.splitlines()[0].startswith("Anything else wrong there?")
        assert hazards.splitlines()[1:] == [
            "1. Standing water",
            "2. Loose debris",
            "3. Missing warning signs",
        ]
        request_id = filed_id(olga.ask("1 and 3"))
        stored = bot.runtime.open311.get_request(request_id)
        assert dict(stored.attributes) == {
            "lane": "yes",
            "size": "large",
            "depth": "4",
            "hazards": ["water", "signs"],
        }

        # The same report without the size: asked, and answered by number.
        pat = bot.resident("pat")
        pat.ask("There is a pothole at 5th St and Market St")
        assert pat.ask("2").startswith("About how big is it?")
        pat.ask("1")
        pat.ask("2")
        request_id = filed_id(pat.ask("standing water"))
        attributes = bot.runtime.open311.get_request(request_id).attributes
        assert attributes["lane"] == "no"
        assert attributes["size"] == "small"
        assert attributes["hazards"] == ["water"]


def test_a_city_with_its_own_service_codes(settings: Settings) -> None:
    # Toronto's catalog maps its codes to the classifier's classes: the same model files into them.
    toronto = CATALOG.parents[2] / "bot" / "open311" / "catalogs" / "toronto.toml"
    with running_bot(settings, open311={"catalog_file": toronto}) as bot:
        quinn = bot.resident("quinn")
        question = quinn.ask(CLEAR_REPORT)
        assert (
            question.splitlines()[0]
            == "Where on the road is the pothole? Reply with the number or the words."
        )
        reply = quinn.ask("bike lane")
        match = re.search(r"filed as #(\d+) \(Road - Pot hole\)", reply)
        assert match, reply
        stored = bot.runtime.open311.get_request(match.group(1))
        assert stored.service_code == "CSROWR-12"
        assert dict(stored.attributes) == {"lane": "bike_lane"}


def test_a_batch_service_answers_with_a_token_that_status_follows(settings: Settings) -> None:
    catalog = CATALOG.with_name("batch_catalog.toml")
    with running_bot(settings, open311={"catalog_file": catalog, "batch_accept_delay_seconds": 0}) as bot:
        rosa = bot.resident("rosa")
        reply = rosa.ask(CLEAR_REPORT)
        match = re.search(r"received with reference ([0-9a-f]+)\.", reply)
        assert match, reply
        token = match.group(1)
        assert "waiting for a number" in rosa.ask("status")
        assert "waiting for a number" in rosa.ask(f"STATUS {token}")
        [accepted] = bot.runtime.open311.accept_pending_tokens(utcnow() + timedelta(seconds=5))
        assert accepted.service_request_id is not None
        assert rosa.ask("status").startswith(f"Report #{accepted.service_request_id} (Pothole) is open")
        assert rosa.ask(f"status {token}").startswith(f"Report #{accepted.service_request_id}")


def test_a_number_asked_in_days_is_answered_in_weeks_months_or_words(
    settings: Settings, tmp_path: Path
) -> None:
    """A Chicago tester answered "How many days has the vehicle been parked?" with "about 3 weeks" and the
    city got 3."""
    catalog = tmp_path / "vehicles.toml"
    catalog.write_text(
        """name = "vehicles"
[[services]]
code = "abandoned_vehicle"
name = "Abandoned Vehicle"
names = { es = "Vehículo abandonado" }
description = "A vehicle left on the street."
group = "street"
[[services.attributes]]
code = "days"
datatype = "number"
description = "How many days has the vehicle been parked there?"
descriptions = { es = "¿Cuántos días lleva estacionado?", zh = "停泊了多少天？" }
required = true
""",
        encoding="utf-8",
    )
    report = "Abandoned car with flat tires at 5th St and Market St, it has not moved at all"
    with running_bot(settings, open311={"catalog_file": catalog}) as bot:
        for name, language, text, answers, days in [
            ("ana", "en", report, ["about 3 weeks"], "21"),
            ("ben", "en", report, ["since last Monday", "a couple of days"], "2"),
            (
                "eva",
                "es",
                "Carro abandonado con llantas ponchadas en 5th St y Market St, no se mueve",
                ["un mes"],
                "30",
            ),
            ("wei", "zh", "5th St和Market St有一辆弃车，好几个星期没动过了", ["两个星期"], "14"),
        ]:
            resident = bot.resident(name, language=language)
            question = resident.ask(text)
            assert question.endswith(("parked there?", "estacionado?", "多少天？")), question
            for answer in answers[:-1]:
                again = resident.ask(answer)  # no number: asked again, not filed with a wrong one
                assert again.endswith(question), again
            filed = re.search(r"#(\d+)", resident.ask(answers[-1]))
            assert filed is not None, name
            assert dict(bot.runtime.open311.get_request(filed.group(1)).attributes) == {"days": days}, name
