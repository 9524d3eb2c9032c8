"""A synthetic data set of any size, for benchmarks: generated cities spread over the 16 states,
each with a local network planned like the demo's, goals, measures, fundings and a contact.

Fast by design: the networks are a few dozen plans made once and reused with each city's name
filled in, slugs are numbered (`city-00042`), and each row costs only a few random draws.
"""

import itertools
import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from hub.demo.dataset import (
    AS_OF,
    CITY_KINDS,
    INTAKES,
    LAST_NAMES,
    THEMES,
    AddedMeasure,
    Dataset,
    Membership,
    NetworkPlan,
    Place,
    add_network,
    add_reference_rows,
    compositions,
    fictional_people,
    plan_network,
    state_names,
    term_ends_on,
)

# A rough bounding box per state: latitude from, to; longitude from, to.
STATE_BOXES = {
    "BW": (47.6, 49.7, 7.6, 10.4),
    "BY": (47.4, 50.5, 9.0, 13.8),
    "BE": (52.35, 52.65, 13.1, 13.7),
    "BB": (51.4, 53.5, 11.3, 14.7),
    "HB": (53.0, 53.2, 8.5, 8.95),
    "HH": (53.4, 53.7, 9.75, 10.3),
    "HE": (49.4, 51.6, 7.8, 10.2),
    "MV": (53.1, 54.6, 10.6, 14.4),
    "NI": (51.3, 53.8, 6.7, 11.5),
    "NW": (50.4, 52.5, 5.9, 9.4),
    "RP": (49.0, 50.9, 6.1, 8.5),
    "SL": (49.1, 49.6, 6.4, 7.4),
    "SN": (50.2, 51.6, 11.9, 15.0),
    "ST": (51.0, 53.0, 10.6, 13.2),
    "SH": (53.4, 55.0, 8.3, 11.3),
    "TH": (50.2, 51.6, 9.9, 12.6),
}
# Roughly each state's population in millions, so that cities spread as people do.
STATE_WEIGHTS = {
    "BW": 11, "BY": 13, "BE": 4, "BB": 3, "HB": 1, "HH": 2, "HE": 6, "MV": 2,
    "NI": 8, "NW": 18, "RP": 4, "SL": 1, "SN": 4, "ST": 2, "SH": 3, "TH": 2,
}  # fmt: skip
KIND_WEIGHTS = {"Stadt": 70, "Gemeinde": 20, "Verbandsgemeinde": 5, "Bezirk": 5}

# Place names are put together from German parts: "Ober" + "linden" + "feld".
NAME_PREFIXES = ("", "", "", "Alt", "Neu", "Ober", "Nieder", "Groß", "Klein", "Bad ")
NAME_ROOTS = (
    "Linden", "Eichen", "Buchen", "Birken", "Tannen", "Rosen", "Wald", "Berg", "Bach", "Stein",
    "Mühl", "Sonnen", "Hasel", "Fichten", "Weiden", "Erlen", "Kirch", "Burg", "Markt", "Brunn",
)  # fmt: skip
NAME_SUFFIXES = (
    "hausen", "dorf", "feld", "berg", "bach", "heim", "stadt", "au", "hagen", "burg", "ingen",
    "rode", "thal", "furt", "brück",
)  # fmt: skip

BLUEPRINTS = 64
FUNDERS = 50
FORMER_MEMBER_SHARE = 0.04
LAND_AMOUNT = Decimal(10_000)
MEASURE_AMOUNTS = tuple(Decimal(amount) for amount in (1_500, 2_500, 4_000, 5_000, 8_000))


def build_synthetic(cities: int, seed: int = 1) -> Dataset:
    """A synthetic data set of `cities` cities; the same seed gives the same rows."""
    rng = random.Random(seed)
    dataset = Dataset.empty()
    add_reference_rows(dataset)
    lands, nationwide = add_funders(dataset, rng)
    blueprints = [plan_network(rng, sectors) for sectors in compositions(rng, BLUEPRINTS)]
    joined = add_cities(dataset, rng, cities, blueprints, lands, nationwide)
    add_working_groups(dataset, rng, joined)
    add_city_partnerships(dataset, rng, joined)
    return dataset


def add_funders(dataset: Dataset, rng: random.Random) -> tuple[dict[str, int], list[int]]:
    """Add a funding Land per state and foundations, companies and associations up to `FUNDERS`;
    return the Länder's ids by state and the others' ids."""
    lands = {}
    for state, name in state_names().items():
        funder_id = dataset.add(
            "funders",
            slug=f"funder-{len(dataset.rows['funders']) + 1:03d}",
            name=f"Land {name}",
            kind="public_body",
            scope="regional",
            description="Fördert die Engagierten Städte des Landes.",
        )
        dataset.add("funder_states", funder_id=funder_id, state_code=state)
        lands[state] = funder_id
    nationwide = [add_funder(dataset, rng, number) for number in range(FUNDERS - len(lands))]
    return lands, nationwide


def add_funder(dataset: Dataset, rng: random.Random, number: int) -> int:
    """Add a foundation, company or (thematic) association with one to three themes."""
    surname = LAST_NAMES[number % len(LAST_NAMES)]
    themes = sorted(rng.sample(range(1, len(THEMES) + 1), rng.randint(1, 3)))
    kind, name, scope = (
        ("foundation", f"{surname}-Stiftung", "nationwide"),
        ("company", f"{surname} Holding AG", "nationwide"),
        ("association", f"Bundesverband {THEMES[themes[0] - 1].name_de}", "thematic"),
    )[number % 3]
    funder_id = dataset.add(
        "funders",
        slug=f"funder-{len(dataset.rows['funders']) + 1:03d}",
        name=name,
        kind=kind,
        scope=scope,
        description="Fördert Engagierte Städte in ganz Deutschland.",
    )
    for theme in themes:
        dataset.add("funder_themes", funder_id=funder_id, theme_id=theme)
    return funder_id


def add_cities(
    dataset: Dataset,
    rng: random.Random,
    count: int,
    blueprints: list[NetworkPlan],
    lands: dict[str, int],
    nationwide: list[int],
) -> list[date]:
    """Add `count` cities, each with its network and fundings; return when each joined.

    The cities get the ids 1 to `count` in order: the returned list's item i is city i + 1's.
    """
    states = rng.choices(list(STATE_WEIGHTS), list(STATE_WEIGHTS.values()), k=count)
    kinds = rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()), k=count)
    people = fictional_people(rng, count)
    joined = []
    for number, (state, kind_de, name, (full_name, email)) in enumerate(
        zip(states, kinds, place_names(rng, count), people, strict=True), 1
    ):
        joined_on = rng.choice(INTAKES)
        former = rng.random() < FORMER_MEMBER_SHARE and term_ends_on(joined_on) < AS_OF
        lat_from, lat_to, lon_from, lon_to = STATE_BOXES[state]
        slug = f"city-{number:05d}"
        city_id = dataset.add(
            "cities",
            slug=slug,
            name=name,
            kind=CITY_KINDS[kind_de],
            state_code=state,
            population=min(int(10_000 * rng.paretovariate(1.5)), 1_000_000),
            latitude=round(rng.uniform(lat_from, lat_to), 5),
            longitude=round(rng.uniform(lon_from, lon_to), 5),
            status="former_member" if former else "member",
            joined_on=joined_on,
            left_on=term_ends_on(joined_on) if former else None,
            description=f"{name} ist seit {joined_on.year} eine Engagierte Stadt.",
        )
        dataset.add(
            "contact_persons",
            full_name=full_name,
            function="Koordination Engagierte Stadt",
            email=email,
            city_id=city_id,
        )
        city = Membership(
            city_id,
            name,
            Place.of(name, kind_de),
            joined_on,
            term_ends_on(joined_on) if former else None,
        )
        network_id, measures = add_network(
            dataset,
            rng,
            city,
            blueprints[rng.randrange(len(blueprints))],
            actor_slug=numbered_slugs(f"{slug}-a"),
            measure_slug=numbered_slugs(f"{slug}-m"),
        )
        add_city_fundings(
            dataset, rng, network_id, measures[0], lands[state], nationwide, joined_on
        )
        joined.append(joined_on)
    return joined


def place_names(rng: random.Random, count: int) -> list[str]:
    """`count` German-sounding place names, put together from parts: "Oberlindenfeld"."""
    return [
        f"{prefix}{root.lower() if prefix.isalpha() else root}{suffix}"
        for prefix, root, suffix in zip(
            rng.choices(NAME_PREFIXES, k=count),
            rng.choices(NAME_ROOTS, k=count),
            rng.choices(NAME_SUFFIXES, k=count),
            strict=True,
        )
    ]


def numbered_slugs(prefix: str) -> Callable[[str], str]:
    """Slugs `prefix1`, `prefix2`, ... whatever they name: cheap, and unique by construction."""
    numbers = itertools.count(1)
    return lambda _name: f"{prefix}{next(numbers)}"


def add_city_fundings(
    dataset: Dataset,
    rng: random.Random,
    network_id: int,
    measure: AddedMeasure,
    land_id: int,
    nationwide: list[int],
    joined_on: date,
) -> None:
    """Three fundings: money from the Land, expertise from a funder, money for a measure."""
    network = ("local_network", network_id)
    first_year = joined_on + timedelta(days=364)
    dataset.add_funding(
        land_id, network, "financial", "Landesförderung", joined_on, first_year, amount=LAND_AMOUNT
    )
    dataset.add_funding(rng.choice(nationwide), network, "expertise", "Beratung", joined_on)
    dataset.add_funding(
        rng.choice(nationwide),
        ("measure", measure.id),
        "financial",
        f"Projektförderung: {measure.title}",
        measure.starts_on,
        measure.ends_on,
        amount=rng.choice(MEASURE_AMOUNTS),
        theme_id=measure.theme_id,
    )


def add_working_groups(dataset: Dataset, rng: random.Random, joined: list[date]) -> None:
    """One working group per 200 cities (at least five), each with 8 to 20 member cities."""
    for number in range(max(5, len(joined) // 200)):
        theme = number % len(THEMES) + 1
        group_id = dataset.add(
            "working_groups",
            slug=f"working-group-{number + 1:03d}",
            name=f"Arbeitsgruppe {THEMES[theme - 1].name_de} {number // len(THEMES) + 1}",
            description=f"Städte im Austausch zum Thema {THEMES[theme - 1].name_de}.",
            theme_id=theme,
        )
        members = rng.sample(range(len(joined)), min(len(joined), rng.randint(8, 20)))
        for index in sorted(members):
            dataset.add(
                "working_group_members",
                working_group_id=group_id,
                city_id=index + 1,
                joined_on=joined[index] + timedelta(days=90),
            )


def add_city_partnerships(dataset: Dataset, rng: random.Random, joined: list[date]) -> None:
    """Pair every other city with one of the next few cities: about one pair per two cities."""
    for index in range(0, len(joined) - 1, 2):
        partner = index + rng.randint(1, min(8, len(joined) - 1 - index))
        dataset.add(
            "city_partnerships",
            city_id=index + 1,
            partner_city_id=partner + 1,
            since=min(max(joined[index], joined[partner]) + timedelta(days=90), AS_OF),
            description="Austausch unter Partnerstädten.",
        )
