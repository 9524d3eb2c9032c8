"""The demo data set: the real cities, state partners and funders of the Engagierte Stadt network
(facts/), filled out with plausible generated local networks, fundings, working groups and people.

Deterministic: one seeded random generator, the facts read in file order, no clock, no set order.
"""

import hashlib
import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from itertools import count
from typing import Any

from hub.demo.dataset import (
    AS_OF,
    CITY_KINDS,
    INTAKES,
    NETWORK_WIDE,
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
    read_facts,
    state_names,
    term_ends_on,
    theme_id,
)
from hub.slugs import slugify

SEED = 20150701

# --- Cities --------------------------------------------------------------------------------

INTAKE_ON = {intake.year: intake for intake in INTAKES}
# How many cities each intake took in (network_facts.json: figures.member_count_history).
INTAKE_SIZES = {2015: 50, 2020: 32, 2021: 29, 2022: 14, 2024: 23}
# Phase I took towns of 10,000 to 100,000 inhabitants only (figures.eligibility_population).
PHASE_I_MAX_POPULATION = 100_000
# Above this, engagement in villages and hamlets is no theme of a town's network.
RURAL_MAX_POPULATION = 50_000

# Members whose join date the facts bound without giving it: earliest and latest intake date.
JOIN_WINDOWS = {
    "Ammerbuch": (INTAKES[0], date(2021, 4, 12)),  # in the auridis pilot of April 2021
    "Görlitz": (INTAKES[0], date(2020, 12, 31)),  # "Member before 2021"
    # Named as a member in 2021; a Berlin borough is far above phase I's size limit.
    "Berlin-Mitte": (INTAKES[1], date(2021, 12, 31)),
}
# Former members and the day their membership ended.
LEFT_ON = {
    "Gießen": date(2017, 12, 31),  # "war bis 2017 auch dabei"
    "Berlin-Mitte": date(2023, 12, 31),  # in Feb 2024 Schöneweide was the only Berlin member
}
STATUSES = {"member": "member", "former": "former_member", "former_or_unknown": "former_member"}


@dataclass(frozen=True)
class DemoCity:
    """A city of the demo, with what the later steps need to know about it."""

    id: int
    name: str
    state: str
    latitude: float
    longitude: float
    status: str
    joined_on: date
    left_on: date | None
    network_id: int
    rural: bool


def build_demo() -> Dataset:
    """The demo data set; the same rows on every run."""
    rng = random.Random(SEED)
    facts = read_facts("network_facts.json")
    dataset = Dataset.empty()
    add_reference_rows(dataset)
    partnerships = add_state_partnerships(dataset, facts["state_partners"])
    cities, measures = add_cities(dataset, rng, read_facts("cities.json"))
    funders = add_funders(dataset, facts)
    add_fundings(dataset, rng, cities, measures, funders, partnerships)
    add_working_groups(dataset, rng, cities)
    add_city_partnerships(dataset, rng, cities)
    applications = add_applications(dataset, cities, partnerships, funders)
    add_contact_persons(dataset, rng, cities, funders, partnerships, applications)
    return dataset


def unique_slug(taken: set[str], *candidates: str) -> str:
    """The first candidate not taken yet (the last one numbered if all are); mark it taken."""
    slug = next((candidate for candidate in candidates if candidate not in taken), None)
    if slug is None:
        slug = next(
            f"{candidates[-1]}-{n}" for n in count(2) if f"{candidates[-1]}-{n}" not in taken
        )
    taken.add(slug)
    return slug


def add_cities(
    dataset: Dataset, rng: random.Random, city_facts: list[dict[str, Any]]
) -> tuple[list[DemoCity], list[AddedMeasure]]:
    """Add every city of the facts with its local network; return the cities and measures."""
    names = state_names()
    known_intakes = Counter(fact["joined"] for fact in city_facts if fact["joined"])
    slugs: dict[str, set[str]] = {"cities": set(), "actors": set(), "measures": set()}
    cities: list[DemoCity] = []
    measures: list[AddedMeasure] = []
    for fact, sectors in zip(city_facts, compositions(rng, len(city_facts)), strict=True):
        joined_on = INTAKE_ON.get(fact["joined"]) or draw_intake(rng, fact, known_intakes)
        left_on = LEFT_ON.get(fact["name"])
        rural = is_rural(fact)
        plan = plan_network(rng, sectors, rural=rural)
        city_slug = unique_slug(slugs["cities"], slugify(fact["name"]))
        city_id = dataset.add(
            "cities",
            slug=city_slug,
            name=fact["name"],
            kind=CITY_KINDS[fact["kind"] or "Stadt"],
            state_code=fact["state"],
            population=fact["population"],
            latitude=fact["lat"],
            longitude=fact["lon"],
            status=STATUSES[fact["status"]],
            joined_on=joined_on,
            left_on=left_on,
            description=city_description(
                fact["name"], names[fact["state"]], joined_on, left_on, plan
            ),
        )
        place = Place.of(fact["name"], fact["kind"])
        network_id, network_measures = add_network(
            dataset,
            rng,
            Membership(city_id, fact["name"], place, joined_on, left_on),
            plan,
            actor_slug=partial(qualified_slug, slugs["actors"], place.place),
            measure_slug=partial(prefixed_slug, slugs["measures"], city_slug),
        )
        measures += network_measures
        cities.append(
            DemoCity(
                id=city_id,
                name=fact["name"],
                state=fact["state"],
                latitude=fact["lat"],
                longitude=fact["lon"],
                status=STATUSES[fact["status"]],
                joined_on=joined_on,
                left_on=left_on,
                network_id=network_id,
                rural=rural,
            )
        )
    return cities, measures


def is_rural(fact: dict[str, Any]) -> bool:
    """Whether a city of the facts is a small place, where rural themes fit."""
    small = (fact["population"] or 0) <= RURAL_MAX_POPULATION
    return small and CITY_KINDS[fact["kind"] or "Stadt"] != "district"


def qualified_slug(taken: set[str], qualifier: str, name: str) -> str:
    """The slug of `name`, or of `name` and `qualifier` where that is taken."""
    return unique_slug(taken, slugify(name), slugify(f"{name} {qualifier}"))


def prefixed_slug(taken: set[str], prefix: str, name: str) -> str:
    """The slug of `prefix` and `name`: `weinheim-ehrenamtsboerse`."""
    return unique_slug(taken, slugify(f"{prefix} {name}"))


def draw_intake(rng: random.Random, fact: dict[str, Any], known: Counter[int]) -> date:
    """An intake the city could have joined in, weighted by the places the facts leave open."""
    too_big_for_phase_i = (fact["population"] or 0) > PHASE_I_MAX_POPULATION
    earliest = INTAKES[1] if too_big_for_phase_i else INTAKES[0]
    earliest, latest = JOIN_WINDOWS.get(fact["name"], (earliest, AS_OF))
    latest = min(latest, LEFT_ON.get(fact["name"], AS_OF))
    intakes = [intake for intake in INTAKES if earliest <= intake <= latest]
    weights = [max(INTAKE_SIZES[intake.year] - known[intake.year], 0) for intake in intakes]
    return rng.choices(intakes, weights)[0]


def city_description(
    name: str, state_name: str, joined_on: date, left_on: date | None, plan: NetworkPlan
) -> str:
    """A short German description: since when the city takes part, and its focus."""
    where = "" if state_name in name else f" in {state_name}"
    focus = " und ".join(f"„{THEMES[goal.theme_id - 1].name_de}“" for goal in plan.goals[:2])
    if left_on:
        return (
            f"{name}{where} war von {joined_on.year} bis {left_on.year} eine Engagierte Stadt. "
            f"Schwerpunkte des lokalen Netzwerks waren {focus}."
        )
    return (
        f"{name}{where} ist seit {joined_on.year} eine Engagierte Stadt. "
        f"Schwerpunkte des lokalen Netzwerks sind {focus}."
    )


# --- State partners ------------------------------------------------------------------------

# The institution, start, focus and description of each state partnership. The dates are the
# `since` of network_facts.json, to the day where its details give one (RP: agreement signed).
STATE_PARTNERSHIPS = {
    "RP": (
        "Staatskanzlei Rheinland-Pfalz",
        date(2020, 9, 14),
        "Das Land unterstützt jede teilnehmende Kommune mit 10.000 Euro.",
        "Erstes Land im Netzwerk: Die Beteiligung wurde im April 2020 angekündigt, die "
        "Kooperationsvereinbarung mit BMFSFJ und Körber-Stiftung am 14. September 2020 "
        "unterzeichnet.",
    ),
    "HE": (
        "Hessische Staatskanzlei",
        date(2021, 5, 25),
        "Regionalpartnerschaft: Vernetzung und Stärkung der hessischen Engagierten Städte.",
        "Zweites Land im Netzwerk; Startschuss der hessischen Regionalpartnerschaft am "
        "25. Mai 2021.",
    ),
    "SH": (
        "Ministerium für Soziales, Gesundheit, Jugend, Familie und Senioren Schleswig-Holstein "
        "(Sozialministerium)",
        date(2021, 10, 1),
        "Austausch der Engagierten Städte im Land und Verbindung mit der Engagementpolitik des "
        "Landes.",
        "Landespartner seit Oktober 2021; digitale Auftaktveranstaltung mit den sechs "
        "Engagierten Städten des Landes am 8. Februar 2022.",
    ),
    "BY": (
        "Bayerisches Staatsministerium für Familie, Arbeit und Soziales",
        date(2024, 9, 16),
        "Regionale Verankerung des Netzwerks in Bayern.",
        "Die Länderpartnerschaft wurde beim bundesweiten Netzwerktreffen am 16. September 2024 "
        "in Würzburg gefeiert.",
    ),
    "ST": (
        "Staatskanzlei Sachsen-Anhalt",
        date(2025, 5, 16),
        "Gemeinsam mit der LAGFA Sachsen-Anhalt e. V.: Stärkung des Landesnetzwerks der "
        "Engagierten Städte.",
        "Fünfter Länderpartner; unterzeichnet am 16. Mai 2025 in der Lutherstadt Wittenberg, "
        "gemeinsam mit der LAGFA Sachsen-Anhalt e. V.",
    ),
}


def add_state_partnerships(
    dataset: Dataset, partner_facts: list[dict[str, Any]]
) -> dict[str, tuple[int, date]]:
    """Add the state partnerships of the facts; return their ids and starts by state code."""
    partnerships = {}
    for fact in partner_facts:
        institution, starts_on, focus, description = STATE_PARTNERSHIPS[fact["state"]]
        partnership_id = dataset.add(
            "state_partnerships",
            state_code=fact["state"],
            institution=institution,
            focus=focus,
            description=description,
            starts_on=starts_on,
        )
        partnerships[fact["state"]] = (partnership_id, starts_on)
    return partnerships


# --- Funders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunderProfile:
    """What the facts say about a funder, in German, with the themes it supports."""

    description: str
    themes: tuple[str, ...]
    scope: str = "nationwide"
    states: tuple[str, ...] = ()


# By the funder's name in the facts, without its bracketed short name.
FUNDER_PROFILES = {
    "Bundesministerium für Familie, Senioren, Frauen und Jugend": FunderProfile(
        "Programmträger seit 2015; fördert die Engagierten Städte und bringt das bundesweite "
        "Netzwerktreffen ein.",
        ("engagementfoerderung", "familie", "jugend", "senior-innen"),
    ),
    "Bertelsmann Stiftung": FunderProfile(
        "Programmträgerin seit 2015; bringt neben Fördermitteln Erfahrung und Expertise ein.",
        ("engagementfoerderung", "demokratie-und-beteiligung"),
    ),
    "Körber-Stiftung": FunderProfile(
        "Programmträgerin seit 2015; führte bis Mitte 2020 das Programmbüro in Hamburg.",
        ("demokratie-und-beteiligung", "senior-innen"),
    ),
    "Robert Bosch Stiftung": FunderProfile(
        "Förderin in den ersten drei Programmphasen.", ("integration-und-vielfalt", "bildung")
    ),
    "BMW Stiftung Herbert Quandt": FunderProfile(
        "Förderin in der ersten Programmphase (2015 bis 2017).", ("engagementfoerderung",)
    ),
    "Herbert Quandt-Stiftung": FunderProfile(
        "Förderin in der ersten Programmphase.", ("engagementfoerderung",)
    ),
    "Generali Zukunftsfonds": FunderProfile(
        "Das Unternehmen unter den Förderern der ersten Programmphase.", ("senior-innen",)
    ),
    "Bethe-Stiftung": FunderProfile(
        "Förderin seit der zweiten Programmphase (2018) und Mitglied der Steuerungsgruppe.",
        ("jugend",),
    ),
    "Breuninger Stiftung": FunderProfile(
        "Förderin in der zweiten Programmphase; qualifiziert und begleitet seit 2020 die neuen "
        "Engagierten Städte.",
        ("engagementfoerderung", "demokratie-und-beteiligung"),
    ),
    "Joachim Herz Stiftung": FunderProfile(
        "Förderin in der zweiten und dritten Programmphase.", ("bildung",)
    ),
    "Bundesnetzwerk Bürgerschaftliches Engagement": FunderProfile(
        "Trägt seit dem 1. Juli 2020 das Programmbüro und betreibt einen Regionalisierungsfonds.",
        ("engagementfoerderung",),
    ),
    "Deutsche Stiftung für Engagement und Ehrenamt": FunderProfile(
        "Programmpartnerin seit 2021; ein Vorstandsmitglied sitzt in der Auswahljury.",
        ("engagementfoerderung", "digitalisierung", "ehrenamt-im-laendlichen-raum"),
    ),
    "auridis Stiftung gGmbH": FunderProfile(
        "Erste Fachpartnerin (seit April 2021), finanziert von ALDI SÜD: zweijähriges Pilotprojekt "
        "zu Engagementstrukturen für Familien in belastenden Lebenslagen.",
        ("familie",),
        scope="thematic",
    ),
    "Deutscher Städtetag": FunderProfile(
        "Netzwerkpartner seit Beginn der dritten Programmphase (Juli 2020).",
        ("engagementfoerderung",),
    ),
    "Deutscher Städte- und Gemeindebund": FunderProfile(
        "Netzwerkpartner des Programms.", ("engagementfoerderung", "ehrenamt-im-laendlichen-raum")
    ),
    "Verein Zukunft Metropolregion Rhein-Neckar": FunderProfile(
        "Regionalpartner seit Juli 2020, gemeinsam mit Viernheim, Weinheim und Neustadt an der "
        "Weinstraße; Lampertheim kam 2021 hinzu.",
        ("engagementfoerderung",),
        scope="regional",
        states=("BW", "HE", "RP"),
    ),
    "Land Rheinland-Pfalz": FunderProfile(
        "Erstes Land im Netzwerk; unterstützt jede teilnehmende Kommune mit 10.000 Euro.",
        ("engagementfoerderung",),
        scope="regional",
        states=("RP",),
    ),
}
FUNDER_KINDS = {
    "ministry": "public_body",
    "state government": "public_body",
    "foundation": "foundation",
    "company": "company",
    "network/association": "association",
    "municipal umbrella association": "association",
    "regional association": "association",
}
# The Land pays each of its member towns 10,000 € (state_partners, RP), so it funds in its own
# right; the facts list it as a state partner only.
LAND_RP = {"name": "Land Rheinland-Pfalz", "type": "state government", "phases": []}


@dataclass(frozen=True)
class DemoFunder:
    """A funder of the demo and the programme phases it took part in."""

    id: int
    phases: tuple[str, ...]


def add_funders(dataset: Dataset, facts: dict[str, Any]) -> dict[str, DemoFunder]:
    """Add the funders of the facts, the regional partner and the Land; return them by slug."""
    funders = {}
    for fact in [*facts["funders"], *facts["regional_partners"], LAND_RP]:
        name, short_name = split_short_name(fact["name"])
        profile = FUNDER_PROFILES[name]
        slug = slugify(short_name or name)
        funder_id = dataset.add(
            "funders",
            slug=slug,
            name=name,
            short_name=short_name,
            kind=FUNDER_KINDS[fact["type"].split(" (")[0]],
            scope=profile.scope,
            description=profile.description,
        )
        for state in profile.states:
            dataset.add("funder_states", funder_id=funder_id, state_code=state)
        for theme in profile.themes:
            dataset.add("funder_themes", funder_id=funder_id, theme_id=theme_id(theme))
        funders[slug] = DemoFunder(funder_id, tuple(fact.get("phases", ())))
    return funders


def split_short_name(name: str) -> tuple[str, str | None]:
    """Split `Name (ABBR)` into name and short name; a bracket with spaces is not a short name."""
    base, _, bracket = name.partition(" (")
    short_name = bracket.removesuffix(")")
    return base, short_name if short_name and " " not in short_name else None


# --- Fundings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """A programme phase whose funders co-fund its cities (network_facts.json: figures.phases)."""

    number: str
    ordinal: str  # "ersten", as in "in der ersten Programmphase"
    starts_on: date
    ends_on: date
    total: Decimal  # what all funders gave in the phase, according to the facts
    city_shares: tuple[int, ...]  # what each of a city's co-funders gives it, in euros


# Phase I: "more than 3 million €", at most 50,000 € per city; phase II: "about 2 million €".
PHASE_I = Phase(
    number="I",
    ordinal="ersten",
    starts_on=date(2015, 1, 1),
    ends_on=date(2017, 12, 31),
    total=Decimal(3_200_000),
    city_shares=(20_000, 15_000, 15_000),
)
PHASE_II = Phase(
    number="II",
    ordinal="zweiten",
    starts_on=date(2018, 1, 1),
    ends_on=date(2020, 6, 30),
    total=Decimal(2_000_000),
    city_shares=(15_000, 15_000),
)
PHASE_III = (date(2020, 7, 1), date(2023, 6, 30))
# The BMFSFJ announced more than 0.5 million € a year until the end of 2023 (funders, BMFSFJ).
BMFSFJ_FROM_PHASE_III = (date(2020, 7, 1), date(2023, 12, 31), Decimal(1_800_000))
NEW_CITY_AMOUNT = Decimal(15_000)
PHASE_IV_DSEE_AMOUNT = Decimal(10_000)
LAND_RP_AMOUNT = Decimal(10_000)
MICRO_FUNDING_AMOUNTS = (1_500, 2_000, 2_500, 3_000, 4_000, 5_000)

# Partners that support named cities: funder slug, contribution, title, theme, cities, period.
CITY_PARTNER_OFFERS = (
    (
        "zmrn",
        "expertise",
        "Regionale Vernetzung in der Metropolregion Rhein-Neckar",
        "engagementfoerderung",
        ("Viernheim", "Weinheim", "Neustadt an der Weinstraße", "Lampertheim"),
        (date(2020, 7, 1), None),
    ),
    (
        # The two-year pilot of the first Fachpartnerschaft, from April 2021.
        "auridis-stiftung-ggmbh",
        "expertise",
        "Fachpartnerschaft: Engagement für Familien in belastenden Lebenslagen",
        "familie",
        ("Apolda", "Ammerbuch", "Görlitz", "Wetzlar", "Lilienthal"),
        (date(2021, 4, 12), date(2023, 4, 11)),
    ),
)

# Funder slug, contribution, title, start, end, description.
NETWORK_WIDE_OFFERS = (
    (
        "koerber-stiftung",
        "own_offer",
        "Programmbüro Engagierte Stadt",
        date(2015, 1, 1),
        date(2020, 6, 30),
        "Das Programmbüro in Hamburg begleitet die Engagierten Städte.",
    ),
    (
        "bbe",
        "own_offer",
        "Programmbüro Engagierte Stadt",
        date(2020, 7, 1),
        None,
        "Seit dem 1. Juli 2020 führt die BBE Geschäftsstelle gGmbH das Programmbüro.",
    ),
    (
        "bertelsmann-stiftung",
        "expertise",
        "Erfahrung und Expertise für das Netzwerkprogramm",
        date(2015, 1, 1),
        None,
        "Wissen aus eigenen Projekten der Engagementförderung, für alle Engagierten Städte.",
    ),
    (
        "bmfsfj",
        "own_offer",
        "Bundesweites Netzwerktreffen",
        date(2020, 7, 1),
        None,
        "Das Ministerium bringt das Modul der bundesweiten Netzwerktreffen ein.",
    ),
    (
        "dsee",
        "expertise",
        "Mitwirkung in der Auswahljury",
        date(2021, 1, 1),
        None,
        "Die Stiftung wirkt an der Auswahl neuer Engagierter Städte mit.",
    ),
    (
        "deutscher-staedtetag",
        "own_offer",
        "Netzwerkpartnerschaft",
        date(2020, 7, 1),
        None,
        "Der kommunale Spitzenverband trägt das Netzwerk in die Städte.",
    ),
    (
        "dstgb",
        "own_offer",
        "Netzwerkpartnerschaft",
        date(2024, 1, 1),
        None,
        "Der kommunale Spitzenverband trägt das Netzwerk in die Städte und Gemeinden.",
    ),
)


def add_fundings(
    dataset: Dataset,
    rng: random.Random,
    cities: list[DemoCity],
    measures: list[AddedMeasure],
    funders: dict[str, DemoFunder],
    partnerships: dict[str, tuple[int, date]],
) -> None:
    """Add the fundings: the programme phases, new cities, partners, measures and the network."""
    for phase in (PHASE_I, PHASE_II):
        add_phase_fundings(dataset, rng, phase, cities, funders)
    add_new_city_fundings(dataset, cities, funders)
    add_land_rp_fundings(dataset, cities, funders["land-rheinland-pfalz"].id, partnerships["RP"][1])
    add_city_partner_offers(dataset, cities, funders)
    add_state_partnership_fundings(dataset, funders, partnerships)
    add_measure_fundings(dataset, rng, measures, funders["dsee"].id)
    for slug, contribution, title, starts_on, ends_on, description in NETWORK_WIDE_OFFERS:
        dataset.add_funding(
            funders[slug].id,
            NETWORK_WIDE,
            contribution,
            title,
            starts_on,
            ends_on,
            theme_id=theme_id("engagementfoerderung"),
            description=description,
        )


def add_phase_fundings(
    dataset: Dataset,
    rng: random.Random,
    phase: Phase,
    cities: list[DemoCity],
    funders: dict[str, DemoFunder],
) -> None:
    """Co-fund each city of the first intake still in the network, and the programme itself."""
    phase_funders = [funder.id for funder in funders.values() if phase.number in funder.phases]
    members = [
        city
        for city in cities
        if city.joined_on == INTAKES[0] and (city.left_on is None or city.left_on > phase.starts_on)
    ]
    for city in members:
        for funder_id, share in zip(
            rng.sample(phase_funders, len(phase.city_shares)), phase.city_shares, strict=True
        ):
            dataset.add_funding(
                funder_id,
                ("local_network", city.network_id),
                "financial",
                f"Förderung in der {phase.ordinal} Programmphase",
                max(city.joined_on, phase.starts_on),
                phase.ends_on,
                amount=Decimal(share),
                theme_id=theme_id("engagementfoerderung"),
                description="Kofinanzierung gemeinsam mit weiteren Förderern des Programms.",
            )
    for_cities = Decimal(sum(phase.city_shares) * len(members))
    add_programme_funding(
        dataset,
        phase_funders,
        phase.total - for_cities,
        phase.starts_on,
        phase.ends_on,
        f"Programmmittel der {phase.ordinal} Programmphase",
    )


def add_programme_funding(
    dataset: Dataset,
    funder_ids: list[int],
    amount: Decimal,
    starts_on: date,
    ends_on: date,
    title: str,
) -> None:
    """Split `amount` for the programme office, training and meetings among the funders."""
    share = (amount / len(funder_ids) // 1000) * 1000
    for position, funder_id in enumerate(funder_ids):
        dataset.add_funding(
            funder_id,
            NETWORK_WIDE,
            "financial",
            title,
            starts_on,
            ends_on,
            amount=amount - share * (len(funder_ids) - 1) if position == 0 else share,
            theme_id=theme_id("engagementfoerderung"),
            description="Programmbüro, Qualifizierung und Netzwerktreffen für alle Städte.",
        )


def add_new_city_fundings(
    dataset: Dataset, cities: list[DemoCity], funders: dict[str, DemoFunder]
) -> None:
    """Fund the cities of the intakes since 2020: BMFSFJ money, DSEE money in phase IV, and
    Breuninger's coaching of the cities new in phase III."""
    bmfsfj, dsee, breuninger = (
        funders[slug].id for slug in ("bmfsfj", "dsee", "breuninger-stiftung")
    )
    engagement = theme_id("engagementfoerderung")
    new_cities = [city for city in cities if city.joined_on > INTAKES[0]]
    for city in new_cities:
        network = ("local_network", city.network_id)
        term_end = min(term_ends_on(city.joined_on), city.left_on or date.max)
        dataset.add_funding(
            bmfsfj,
            network,
            "financial",
            "Förderung als neue Engagierte Stadt",
            city.joined_on,
            term_end,
            amount=NEW_CITY_AMOUNT,
            theme_id=engagement,
        )
        if city.joined_on == INTAKES[-1]:
            dataset.add_funding(
                dsee,
                network,
                "financial",
                "Förderung in der vierten Programmphase",
                city.joined_on,
                term_end,
                amount=PHASE_IV_DSEE_AMOUNT,
                theme_id=engagement,
            )
        if PHASE_III[0] <= city.joined_on <= PHASE_III[1]:
            dataset.add_funding(
                breuninger,
                network,
                "expertise",
                "Qualifizierung und Begleitung neuer Engagierter Städte",
                city.joined_on,
                city.joined_on + timedelta(days=364),
                theme_id=engagement,
            )
    starts_on, ends_on, total = BMFSFJ_FROM_PHASE_III
    for_cities = NEW_CITY_AMOUNT * sum(
        starts_on <= city.joined_on <= ends_on for city in new_cities
    )
    add_programme_funding(
        dataset,
        [bmfsfj],
        total - for_cities,
        starts_on,
        ends_on,
        "Programmmittel ab der dritten Programmphase",
    )


def add_land_rp_fundings(
    dataset: Dataset, cities: list[DemoCity], land_id: int, rp_since: date
) -> None:
    """The Land's 10,000 € for each of its member towns, from the partnership's start."""
    for city in cities:
        if city.state != "RP" or city.status != "member":
            continue
        starts_on = max(city.joined_on, rp_since)
        dataset.add_funding(
            land_id,
            ("local_network", city.network_id),
            "financial",
            "Landesförderung für Engagierte Städte in Rheinland-Pfalz",
            starts_on,
            starts_on + timedelta(days=364),
            amount=LAND_RP_AMOUNT,
            theme_id=theme_id("engagementfoerderung"),
        )


def add_city_partner_offers(
    dataset: Dataset, cities: list[DemoCity], funders: dict[str, DemoFunder]
) -> None:
    """The regional and the thematic partner's support of their cities."""
    by_name = {city.name: city for city in cities}
    for slug, contribution, title, theme, names, (since, until) in CITY_PARTNER_OFFERS:
        for name in names:
            dataset.add_funding(
                funders[slug].id,
                ("local_network", by_name[name].network_id),
                contribution,
                title,
                max(by_name[name].joined_on, since),
                until,
                theme_id=theme_id(theme),
            )


def add_state_partnership_fundings(
    dataset: Dataset, funders: dict[str, DemoFunder], partnerships: dict[str, tuple[int, date]]
) -> None:
    """BBE accompanies every state partnership; BMFSFJ and Körber signed the one with RP."""
    for state, (partnership_id, starts_on) in partnerships.items():
        supporters = [("bbe", "own_offer", "Begleitung der Landespartnerschaft (Regionalisierung)")]
        if state == "RP":
            title = "Kooperationsvereinbarung mit dem Land Rheinland-Pfalz"
            supporters += [("bmfsfj", "expertise", title), ("koerber-stiftung", "expertise", title)]
        for slug, contribution, title in supporters:
            dataset.add_funding(
                funders[slug].id,
                ("state_partnership", partnership_id),
                contribution,
                title,
                starts_on,
                theme_id=theme_id("engagementfoerderung"),
            )


def add_measure_fundings(
    dataset: Dataset, rng: random.Random, measures: list[AddedMeasure], dsee_id: int
) -> None:
    """Small DSEE grants for some measures that started once the foundation was at work."""
    for measure in measures:
        if measure.starts_on < date(2021, 1, 1) or rng.random() >= 0.3:
            continue
        dataset.add_funding(
            dsee_id,
            ("measure", measure.id),
            "financial",
            f"Mikroförderung: {measure.title}",
            measure.starts_on,
            measure.ends_on or measure.starts_on + timedelta(days=364),
            amount=Decimal(rng.choice(MICRO_FUNDING_AMOUNTS)),
            theme_id=measure.theme_id,
        )


# --- The nationwide network ----------------------------------------------------------------

# Name, theme, start, description.
WORKING_GROUPS = (
    (
        "Arbeitsgruppe Engagement im ländlichen Raum",
        "ehrenamt-im-laendlichen-raum",
        date(2018, 3, 1),
        "Kleinere Städte und Gemeinden tauschen sich über Engagement in Ortsteilen aus.",
    ),
    (
        "Arbeitsgruppe Demokratie und Beteiligung",
        "demokratie-und-beteiligung",
        date(2019, 5, 1),
        "Erfahrungen mit Bürgerforen, Beteiligungswerkstätten und Demokratiekonferenzen.",
    ),
    (
        "Arbeitsgruppe Vielfalt und Integration",
        "integration-und-vielfalt",
        date(2018, 9, 1),
        "Wie Vereine Menschen mit Einwanderungsgeschichte gewinnen und halten.",
    ),
    (
        "Arbeitsgruppe Digitale Engagementförderung",
        "digitalisierung",
        date(2020, 9, 1),
        "Digitale Werkzeuge für Freiwilligenmanagement, Vereinsarbeit und Beteiligung.",
    ),
    (
        "Arbeitsgruppe Junges Engagement",
        "jugend",
        date(2021, 10, 1),
        "Jugendforen, Jugendfonds und Wege junger Menschen ins Engagement.",
    ),
    (
        "Arbeitsgruppe Klima und Nachhaltigkeit",
        "klima-und-nachhaltigkeit",
        date(2022, 4, 1),
        "Repair-Cafés, Gemeinschaftsgärten und Klimawerkstätten im Austausch.",
    ),
)
PARTNERSHIP_TOPICS = (
    "Gegenseitige Hospitationen der Koordinierungsstellen.",
    "Austausch über Ehrenamtskarte und Anerkennungskultur.",
    "Gemeinsame Fortbildungen für Vereinsvorstände.",
    "Austausch zur Beteiligung junger Menschen.",
    "Gemeinsamer Fachtag zu Engagement im ländlichen Raum.",
    "Austausch über die Arbeit mit Unternehmen im Netzwerk.",
)
CITY_PARTNERSHIPS = 40


def add_working_groups(dataset: Dataset, rng: random.Random, cities: list[DemoCity]) -> None:
    """Add the working groups, each with 8 to 20 member cities; rural themes for rural ones."""
    for name, theme, started_on, description in WORKING_GROUPS:
        group_id = dataset.add(
            "working_groups",
            slug=slugify(name),
            name=name,
            description=description,
            theme_id=theme_id(theme),
        )
        rural_only = THEMES[theme_id(theme) - 1].rural
        members = [
            city for city in cities if city.status == "member" and (city.rural or not rural_only)
        ]
        for city in sorted(rng.sample(members, rng.randint(8, 20)), key=lambda city: city.id):
            joined_on = max(started_on, city.joined_on) + timedelta(days=rng.randint(0, 180))
            dataset.add(
                "working_group_members",
                working_group_id=group_id,
                city_id=city.id,
                joined_on=min(joined_on, AS_OF),
            )


def add_city_partnerships(dataset: Dataset, rng: random.Random, cities: list[DemoCity]) -> None:
    """Add pairs of partner cities, each city paired with one of its nearest fellow members."""
    members = [city for city in cities if city.status == "member"]
    pairs: dict[tuple[int, int], tuple[DemoCity, DemoCity]] = {}
    while len(pairs) < CITY_PARTNERSHIPS:
        city = rng.choice(members)
        nearest = sorted(members, key=lambda other: distance_km(city, other))[1:5]
        partner = rng.choice(nearest)
        first, second = sorted((city, partner), key=lambda member: member.id)
        pairs.setdefault((first.id, second.id), (first, second))
    for (first_id, second_id), (first, second) in sorted(pairs.items()):
        since = max(first.joined_on, second.joined_on) + timedelta(days=rng.randint(60, 540))
        dataset.add(
            "city_partnerships",
            city_id=first_id,
            partner_city_id=second_id,
            since=min(since, AS_OF),
            description=rng.choice(PARTNERSHIP_TOPICS),
        )


def distance_km(one: DemoCity, other: DemoCity) -> float:
    """The distance between two cities, flat-earth approximated (fine within Germany)."""
    latitude = math.radians((one.latitude + other.latitude) / 2)
    north = (one.latitude - other.latitude) * 111.2
    east = (one.longitude - other.longitude) * 111.2 * math.cos(latitude)
    return math.hypot(north, east)


# --- Joining -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoApplication:
    """A sample application and its status history (status, when, note)."""

    kind: str
    organisation_name: str
    state_code: str | None
    city_kind: str | None
    motivation: str
    history: tuple[tuple[str, datetime, str], ...]
    result: str | None = None  # what acceptance created: a city name, state code or funder slug
    rejection_reason: str | None = None
    planned_start_on: date | None = None


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """A moment of the demo's history."""
    return datetime(year, month, day, hour, tzinfo=UTC)


SUBMITTED = "Bewerbung über das Online-Formular eingereicht."
IN_REVIEW = "Unterlagen vollständig; das Programmbüro prüft die Bewerbung."
REVIEWER = "Programmbüro Engagierte Stadt"
APPLICATIONS = (
    DemoApplication(
        "city",
        "Stadt Bad Hersfeld",
        "HE",
        "city",
        "Wir wollen das Engagement in unserer Stadt sichtbar machen und Vereine, Verwaltung und "
        "Unternehmen an einen Tisch bringen.",
        (
            ("submitted", at(2023, 10, 16), SUBMITTED),
            ("in_review", at(2023, 11, 28), IN_REVIEW),
            ("accepted", at(2024, 2, 20), "Die Auswahljury hat die Aufnahme bestätigt."),
        ),
        result="Bad Hersfeld",
        planned_start_on=date(2024, 2, 20),
    ),
    DemoApplication(
        "city",
        "Gemeinde Musterhausen",
        "NI",
        "municipality",
        "Unsere Vereine suchen Nachwuchs; ein Netzwerk soll sie dabei unterstützen.",
        (
            ("submitted", at(2025, 3, 3), SUBMITTED),
            ("in_review", at(2025, 3, 20), IN_REVIEW),
            ("withdrawn", at(2025, 5, 12), "Der Gemeinderat bewirbt sich in der nächsten Runde."),
        ),
        planned_start_on=date(2026, 1, 1),
    ),
    DemoApplication(
        "state_partner",
        "Staatskanzlei Sachsen-Anhalt",
        "ST",
        None,
        "Das Land will die Engagierten Städte in Sachsen-Anhalt gemeinsam mit der LAGFA stärken.",
        (
            ("submitted", at(2025, 1, 20), SUBMITTED),
            ("in_review", at(2025, 2, 11), IN_REVIEW),
            ("accepted", at(2025, 5, 16), "Partnerschaft in der Lutherstadt Wittenberg besiegelt."),
        ),
        result="ST",
    ),
    DemoApplication(
        "state_partner",
        "Thüringer Staatskanzlei",
        "TH",
        None,
        "Thüringen möchte die Engagierten Städte im Land enger miteinander vernetzen.",
        (
            ("submitted", at(2025, 6, 30), SUBMITTED),
            ("in_review", at(2025, 7, 21), IN_REVIEW),
        ),
    ),
    DemoApplication(
        "partner",
        "Stiftung Gemeinsinn Nord",
        None,
        None,
        "Wir möchten Engagierte Städte in Norddeutschland mit Fortbildungen unterstützen.",
        (("submitted", at(2025, 8, 18), SUBMITTED),),
    ),
    DemoApplication(
        "partner",
        "Vereinsdigital GmbH",
        None,
        None,
        "Wir bieten den Engagierten Städten unsere Vereinssoftware zu Sonderkonditionen an.",
        (
            ("submitted", at(2024, 11, 4), SUBMITTED),
            ("in_review", at(2024, 11, 25), IN_REVIEW),
            ("rejected", at(2025, 1, 15), "Die Begründung ging an die Bewerberin."),
        ),
        rejection_reason="Das Netzwerk geht keine Vertriebspartnerschaften für kommerzielle "
        "Produkte ein.",
    ),
)


def add_applications(
    dataset: Dataset,
    cities: list[DemoCity],
    partnerships: dict[str, tuple[int, date]],
    funders: dict[str, DemoFunder],
) -> list[int]:
    """Add the sample applications with their status history; return their ids."""
    city_ids = {city.name: city.id for city in cities}
    ids = []
    for position, application in enumerate(APPLICATIONS, 1):
        status = application.history[-1][0]
        result = application.result if status == "accepted" else None
        application_id = dataset.add(
            "applications",
            kind=application.kind,
            status=status,
            organisation_name=application.organisation_name,
            state_code=application.state_code,
            city_kind=application.city_kind,
            motivation=application.motivation,
            withdraw_token_hash=withdraw_token_hash(position),
            submitted_at=application.history[0][1],
            rejection_reason=application.rejection_reason,
            city_id=city_ids[result] if result and application.kind == "city" else None,
            state_partnership_id=(
                partnerships[result][0] if result and application.kind == "state_partner" else None
            ),
            funder_id=funders[result].id if result and application.kind == "partner" else None,
            planned_start_on=application.planned_start_on,
        )
        add_status_history(dataset, application_id, application)
        ids.append(application_id)
    return ids


def add_status_history(dataset: Dataset, application_id: int, application: DemoApplication) -> None:
    """Record each transition: the applicant submits and withdraws, the programme office decides."""
    previous = None
    for status, changed_at, note in application.history:
        by_applicant = status in ("submitted", "withdrawn")
        dataset.add(
            "application_status_changes",
            application_id=application_id,
            from_status=previous,
            to_status=status,
            changed_at=changed_at,
            changed_by=application.organisation_name if by_applicant else REVIEWER,
            note=note,
        )
        previous = status


def withdraw_token_hash(position: int) -> str:
    """The hash of the withdraw token of the demo's `position`th application."""
    return hashlib.sha256(f"demo-withdraw-token-{position}".encode()).hexdigest()


# --- People --------------------------------------------------------------------------------


def add_contact_persons(
    dataset: Dataset,
    rng: random.Random,
    cities: list[DemoCity],
    funders: dict[str, DemoFunder],
    partnerships: dict[str, tuple[int, date]],
    applications: list[int],
) -> None:
    """Add one fictional contact person per city, funder, state partnership and application."""
    owners = [
        *(("city_id", city.id, "Koordination Engagierte Stadt") for city in cities),
        *(("funder_id", funder.id, "Programmverantwortung") for funder in funders.values()),
        *(
            ("state_partnership_id", partnership_id, "Referat Bürgerschaftliches Engagement")
            for partnership_id, _ in partnerships.values()
        ),
        *(
            ("application_id", application_id, "Ansprechperson der Bewerbung")
            for application_id in applications
        ),
    ]
    for (column, owner_id, function), (full_name, email) in zip(
        owners, fictional_people(rng, len(owners)), strict=True
    ):
        dataset.add(
            "contact_persons",
            full_name=full_name,
            function=function,
            email=email,
            **{column: owner_id},
        )
