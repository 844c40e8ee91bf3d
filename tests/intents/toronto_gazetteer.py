"""A small Toronto-style gazetteer written into a directory, for the offline geocoder's ``data_dir``: the city
writes the direction after the street type (QUEEN ST W, DUNDAS ST E), and a grid city's twins carry it first
(E 08TH ST, W 08TH ST). With ``city_street_names``, which keeps the names such a gazetteer brings to the
location finder inside the test that loads it."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from intents.gazetteer import ADDRESSES_FILE, INTERSECTIONS_FILE

TORONTO_CITY = "Toronto, ON"
TORONTO_BOUNDARY = (43.58, -79.64, 43.86, -79.11)
TORONTO_ADDRESSES = """number,street,lat,lon
100,QUEEN ST W,43.6525,-79.3838
100,QUEEN ST E,43.6537,-79.3727
10,DUNDAS ST E,43.6561,-79.3802
500,DUNDAS ST W,43.6530,-79.3980
2,BLOOR ST W,43.6708,-79.3865
2,BLOOR ST E,43.6710,-79.3855
300,YONGE ST,43.6570,-79.3810
200,BAY ST,43.6490,-79.3810
400,SPADINA AVE,43.6560,-79.3990
100,E 08TH ST,43.6601,-79.3601
100,W 08TH ST,43.6602,-79.3702
"""
TORONTO_INTERSECTIONS = """cnn,lat,lon,streets,adjacent_cnns
1,43.6561,-79.3806,DUNDAS ST E|YONGE ST,
2,43.6523,-79.3819,BAY ST|QUEEN ST W,
3,43.6710,-79.3860,BLOOR ST E|BLOOR ST W|YONGE ST,
4,43.6530,-79.3975,DUNDAS ST W|SPADINA AVE,
5,43.6477,-79.3959,KING ST W|SPADINA AVE,
6,43.6476,-79.3848,KING ST W|UNIVERSITY AVE,
7,43.6527,-79.3790,QUEEN ST E|YONGE ST,
8,43.6527,-79.3791,QUEEN ST W|YONGE ST,
9,43.6600,-79.3500,DUNDAS ST E|MAIN ST,
10,43.6500,-79.4500,DUNDAS ST W|MAIN ST,
"""


def toronto_gazetteer(directory: Path) -> Path:
    """``directory`` holding the gazetteer's files (made if missing)."""
    directory.mkdir(exist_ok=True)
    with gzip.open(directory / ADDRESSES_FILE, "wt", encoding="utf-8") as handle:
        handle.write(TORONTO_ADDRESSES)
    (directory / INTERSECTIONS_FILE).write_text(TORONTO_INTERSECTIONS, encoding="utf-8")
    return directory


@pytest.fixture
def city_street_names() -> Iterator[None]:
    """Street names a test adds stay in that test (they are the process's, one city per process)."""
    from intents.street_names import use_city_street_names

    yield
    use_city_street_names(())
