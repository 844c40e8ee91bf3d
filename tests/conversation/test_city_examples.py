"""A city names its own example corner once (``[conversation] example_streets``), not by rewording every
reply that gives one; and a city's templates file with a key no template has says which keys there are.

A Chicago deployer's residents were told "(like 5th St and Market St)" in English, Spanish and Chinese,
and the start-up error for a misspelt key listed none of the keys (only en.toml, which the README pointed
to, had them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.templates import BUNDLED_DIR, TemplateError, load_templates
from tests.conversation.harness import running_bot

CHICAGO = {"conversation": {"example_streets": ["N Halsted St", "W Madison St"]}}
README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_reply_that_gives_an_example_corner_names_the_citys(settings: Settings) -> None:
    with running_bot(settings, **CHICAGO) as bot:
        ann = bot.resident("ann")
        asked = ann.ask("There is a huge pothole in the road")
        help_text = ann.ask("help")
        lucia = bot.resident("lucia", language="es")
        ayuda = lucia.ask("ayuda")
        mei = bot.resident("mei", language="zh")
        where = mei.ask("路上有一个很大的坑")

    assert "(like N Halsted St and W Madison St)" in asked, asked
    assert "for example: pothole at N Halsted St and W Madison St." in help_text, help_text
    assert "bache en N Halsted St y W Madison St." in ayuda, ayuda
    assert "N Halsted St 和 W Madison St" in where, where
    for reply in (asked, help_text, ayuda, where):
        assert "5th St" not in reply
        assert "Market St" not in reply


def test_a_city_template_may_give_the_example_corner_too(tmp_path: Path) -> None:
    custom = tmp_path / "templates.toml"
    custom.write_text("[en]\nlocation_not_found = 'No {place} here. Try a corner, like {example_corner}.'\n")
    templates = load_templates(custom, example_streets=["N Halsted St", "W Madison St"])
    assert templates.render("location_not_found", "en", place="Wacker") == (
        "No Wacker here. Try a corner, like N Halsted St and W Madison St."
    )


def test_an_unknown_key_in_a_city_file_names_the_closest_and_lists_the_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    custom = tmp_path / "templates.toml"
    custom.write_text('[en]\nfilled = "Thanks, Chicago! Case #{id}."\n')
    with pytest.raises(TemplateError) as refused:
        load_templates(custom)
    message = str(refused.value)
    assert "'filled' (did you mean 'filed'?)" in message
    for key in tomllib.loads((BUNDLED_DIR / "en.toml").read_text(encoding="utf-8")):
        assert key in message

    # As the deployer meets it: serve --check.
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    config = tmp_path / "city.toml"
    config.write_text('data_dir = "data"\n[conversation]\ntemplates_file = "templates.toml"\n')
    assert main(["--config", str(config), "serve", "--check"]) == 2
    error = capsys.readouterr().err
    assert "conversation.templates_file:" in error
    assert "the keys are added_to_review, already_filed, already_following" in error


def test_the_readme_lists_every_key_a_city_may_reword() -> None:
    keys = tomllib.loads((BUNDLED_DIR / "en.toml").read_text(encoding="utf-8"))
    text = README.read_text(encoding="utf-8")
    passage = text[text.index("The keys a `templates_file` may reword") :]
    passage = passage[: passage.index("\n\n")]
    listed = set(re.findall(r"`([a-z_]+)`", passage))
    assert set(keys) <= listed, sorted(set(keys) - listed)
