"""The street-name list's builder: names come from address data, without the cues and neighbourhoods
that addresses carry around them."""

from __future__ import annotations

import csv
from pathlib import Path

from intents.street_names import build, multiword_name_lengths


def _addresses(path: Path, addresses: list[str]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["address"])
        writer.writerows([address] for address in addresses)
    return path


def test_a_corner_written_as_intersection_of_gives_both_street_names(tmp_path: Path) -> None:
    source = _addresses(
        tmp_path / "addresses.csv",
        ["Intersection Of W Fourth St & Dorchester Ave, South Boston"] * 3
        + ["INTERSECTION of Coffey St & Newhall St, Dorchester"] * 3,
    )
    names = build([source])
    assert {"W 04TH", "DORCHESTER", "COFFEY", "NEWHALL"} <= set(names)
    assert not [name for name in names if "INTERSECTION" in name]


def test_a_neighbourhood_glued_after_the_suffix_is_no_street_name(tmp_path: Path) -> None:
    source = _addresses(
        tmp_path / "addresses.csv",
        ["12 Adams St Dorchester, Boston"] * 12
        + ["40 Atlantic Ave North End"] * 12
        + ["7 Buena Vista Ave E"] * 12
        + ["9 Avenue of the Palms"] * 12
        + ["3 Adams St"] * 3,
    )
    names = set(build([source]))
    assert "ADAMS" in names
    assert "BUENA VISTA AVE E" in names  # a directional after the suffix is part of the street
    assert "AVENUE OF THE PALMS" in names
    assert not names & {"ADAMS SAINT DORCHESTER", "ATLANTIC AVE NORTH END"}


def test_a_name_opened_by_a_directional_is_found_from_the_word_as_written() -> None:
    # The list holds "S VAN NESS"; a message writes "South Van Ness".
    lengths = multiword_name_lengths()
    assert lengths["SOUTH"] >= 3
    assert lengths["S"] >= 3
