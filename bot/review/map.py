"""A small map of where a report is, drawn offline as inline SVG from the bundled street data.

The street graph is the city's intersection file shipped with ``intents`` (``intents/data/sf/
intersections.csv``: every centreline node with its position, the streets meeting there and its adjacent
nodes). It is read here as a data file: the review package does not import ``intents`` (the packages stay
apart), it only locates the file. Two adjacent nodes that share a street name are a block of that street.

The console also links to an online map (OpenStreetMap) for the full picture.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path

INTERSECTIONS_FILE = ("data", "sf", "intersections.csv")
_CELL_DEGREES = 0.004  # grid cell for the spatial index (~440 m north-south)
_METRES_PER_DEGREE_LAT = 111_320.0


@dataclass(frozen=True, slots=True)
class Node:
    lat: float
    long: float
    streets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StreetGraph:
    nodes: dict[str, Node]
    edges: tuple[tuple[str, str, str], ...]  # (cnn, cnn, street name)
    grid: dict[tuple[int, int], tuple[int, ...]]  # cell -> indices into edges


def intersections_path() -> Path | None:
    """Where the bundled intersection file is, found without importing the ``intents`` package."""
    spec = importlib.util.find_spec("intents")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location).joinpath(*INTERSECTIONS_FILE)
        if candidate.is_file():
            return candidate
    return None


def _cell(lat: float, long: float) -> tuple[int, int]:
    return (math.floor(lat / _CELL_DEGREES), math.floor(long / _CELL_DEGREES))


@cache
def load_street_graph(path: Path | None = None) -> StreetGraph | None:
    """The street graph, read once; None when the data file is not installed."""
    path = path or intersections_path()
    if path is None or not path.is_file():
        return None
    nodes: dict[str, Node] = {}
    adjacency: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                streets = tuple(filter(None, row["streets"].split("|")))
                node = Node(float(row["lat"]), float(row["lon"]), streets)
            except (KeyError, ValueError):
                continue  # a malformed row costs one node, not the map
            nodes[row["cnn"]] = node
            adjacency[row["cnn"]] = [cnn for cnn in (row.get("adjacent_cnns") or "").split("|") if cnn]
    edges: list[tuple[str, str, str]] = []
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for cnn, neighbours in adjacency.items():
        for other in neighbours:
            if other not in nodes or (other <= cnn and cnn in adjacency.get(other, ())):
                continue  # each block once
            shared = sorted(set(nodes[cnn].streets) & set(nodes[other].streets))
            index = len(edges)
            edges.append((cnn, other, shared[0] if shared else ""))
            for end in (nodes[cnn], nodes[other]):
                grid[_cell(end.lat, end.long)].append(index)
    return StreetGraph(nodes=nodes, edges=tuple(edges), grid={k: tuple(v) for k, v in grid.items()})


def online_map_url(lat: float, long: float, zoom: int = 18) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={long:.6f}#map={zoom}/{lat:.6f}/{long:.6f}"


def render_map_svg(
    lat: float,
    long: float,
    *,
    radius_m: float = 220.0,
    width: int = 320,
    height: int = 240,
    label: str = "",
    graph: StreetGraph | None = None,
) -> str:
    """An SVG of the streets within ``radius_m`` of the point, with the point marked.

    Returns a plain marker on an empty grid when no street data is installed or the point lies outside it
    (the coordinates and the online link still say where it is).
    """
    graph = graph if graph is not None else load_street_graph()
    metres_per_degree_long = _METRES_PER_DEGREE_LAT * math.cos(math.radians(lat))
    half_w_m = radius_m
    half_h_m = radius_m * height / width
    scale = width / (2 * half_w_m)  # pixels per metre

    def project(node_lat: float, node_long: float) -> tuple[float, float]:
        x = (node_long - long) * metres_per_degree_long * scale + width / 2
        y = height / 2 - (node_lat - lat) * _METRES_PER_DEGREE_LAT * scale
        return round(x, 1), round(y, 1)

    segments: list[str] = []
    labels: dict[str, tuple[float, float, float, float]] = {}  # street -> longest visible segment
    if graph is not None:
        d_lat = half_h_m / _METRES_PER_DEGREE_LAT * 2
        d_long = half_w_m / metres_per_degree_long * 2
        low, high = _cell(lat - d_lat, long - d_long), _cell(lat + d_lat, long + d_long)
        seen: set[int] = set()
        for row in range(low[0], high[0] + 1):
            for column in range(low[1], high[1] + 1):
                seen.update(graph.grid.get((row, column), ()))
        for index in sorted(seen):
            a_id, b_id, street = graph.edges[index]
            a, b = graph.nodes[a_id], graph.nodes[b_id]
            x1, y1 = project(a.lat, a.long)
            x2, y2 = project(b.lat, b.long)
            if max(x1, x2) < 0 or min(x1, x2) > width or max(y1, y2) < 0 or min(y1, y2) > height:
                continue
            segments.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"/>')
            length = math.hypot(x2 - x1, y2 - y1)
            inside = 0 <= (x1 + x2) / 2 <= width and 0 <= (y1 + y2) / 2 <= height
            if street and inside and length > _label_length(labels.get(street)):
                labels[street] = (x1, y1, x2, y2)
    texts = []
    for street, (x1, y1, x2, y2) in sorted(labels.items()):
        angle = math.degrees(math.atan2(y2 - y1, x2 - x1))
        if angle > 90:
            angle -= 180
        elif angle < -90:
            angle += 180
        cx, cy = round((x1 + x2) / 2, 1), round((y1 + y2) / 2, 1)
        rotate = f"rotate({angle:.0f} {cx} {cy})"
        texts.append(f'<text x="{cx}" y="{cy}" transform="{rotate}" dy="-3">{escape(street)}</text>')
    title = escape(label or f"Map of {lat:.5f}, {long:.5f}")
    note = "" if segments else '<text class="map-note" x="8" y="16">No street data near this point</text>'
    return (
        f'<svg class="street-map" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{title}</title>"
        f'<rect class="map-ground" x="0" y="0" width="{width}" height="{height}"/>'
        f'<g class="map-streets">{"".join(segments)}</g>'
        f'<g class="map-labels">{"".join(texts)}</g>{note}'
        f'<circle class="map-point" cx="{width / 2}" cy="{height / 2}" r="7"/>'
        f'<circle class="map-point-core" cx="{width / 2}" cy="{height / 2}" r="2.5"/>'
        f'<text class="map-scale" x="{width - 8}" y="{height - 8}" text-anchor="end">'
        f"{int(radius_m * 2)} m across</text></svg>"
    )


def _label_length(segment: tuple[float, float, float, float] | None) -> float:
    if segment is None:
        return 0.0
    x1, y1, x2, y2 = segment
    return math.hypot(x2 - x1, y2 - y1)
