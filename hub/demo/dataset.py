"""The shape of a data set (rows per table, ready for COPY), and what the demo and the
synthetic data set share: reference rows, German vocabulary and the plan of a local network."""

# German organisation names use the en dash, as German typography does.
# ruff: noqa: RUF001

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import models
from hub.slugs import slugify

FACTS_DIR = Path(__file__).resolve().parent / "facts"

T = TypeVar("T")

# Every table a data set fills, in dependency order, with the columns it sets. Columns left out
# (created_at, updated_at) take their database defaults.
COLUMNS: dict[str, tuple[str, ...]] = {
    "states": ("code", "iso_code", "name", "name_en", "capital"),
    "sectors": ("code", "label_de", "label_en", "description", "position"),
    "themes": ("id", "slug", "name_de", "name_en", "description"),
    "state_partnerships": (
        "id", "state_code", "institution", "focus", "description", "starts_on", "ends_on",
    ),
    "cities": (
        "id", "slug", "name", "kind", "state_code", "population", "latitude", "longitude",
        "status", "joined_on", "left_on", "description", "website",
    ),
    "local_networks": ("id", "city_id", "name", "description", "founded_on"),
    "actors": (
        "id", "network_id", "slug", "name", "organisation_type", "sector_code", "role",
        "description", "website",
    ),
    "goals": ("id", "network_id", "title", "description", "theme_id"),
    "measures": (
        "id", "network_id", "goal_id", "slug", "title", "description", "theme_id", "starts_on",
        "ends_on",
    ),
    "measure_actors": ("measure_id", "actor_id", "network_id"),
    "working_groups": ("id", "slug", "name", "description", "theme_id"),
    "working_group_members": ("working_group_id", "city_id", "joined_on"),
    "city_partnerships": ("city_id", "partner_city_id", "since", "description"),
    "funders": ("id", "slug", "name", "short_name", "kind", "scope", "description", "website"),
    "funder_states": ("funder_id", "state_code"),
    "funder_themes": ("funder_id", "theme_id"),
    "fundings": (
        "id", "funder_id", "recipient_kind", "network_id", "measure_id", "state_partnership_id",
        "contribution_type", "amount_eur", "amount_confidential", "title", "description",
        "theme_id", "starts_on", "ends_on",
    ),
    "applications": (
        "id", "kind", "status", "organisation_name", "state_code", "city_kind", "motivation",
        "withdraw_token_hash", "submitted_at", "rejection_reason", "city_id",
        "state_partnership_id", "funder_id", "planned_start_on",
    ),
    "application_status_changes": (
        "id", "application_id", "from_status", "to_status", "changed_at", "changed_by", "note",
    ),
    "contact_persons": (
        "id", "full_name", "function", "email", "phone", "city_id", "actor_id", "funder_id",
        "state_partnership_id", "application_id",
    ),
}  # fmt: skip

# The column that names a funding's recipient, by recipient kind; the network as a whole has none.
RECIPIENT_COLUMNS = {
    "local_network": "network_id",
    "measure": "measure_id",
    "state_partnership": "state_partnership_id",
    "network_wide": None,
}
NETWORK_WIDE = ("network_wide", None)

# The day generated periods are measured against, so that a build never depends on the clock.
AS_OF = date(2025, 9, 1)

# The network's intake rounds (Aufnahmerunden): phase I, then the intakes of 2020 to 2024.
INTAKES = (
    date(2015, 7, 1),
    date(2020, 7, 1),
    date(2021, 7, 1),
    date(2022, 6, 14),
    date(2024, 2, 20),
)

# How long a city takes part in the programme in one round.
MEMBERSHIP_TERM_YEARS = 3


def term_ends_on(joined_on: date) -> date:
    """The last day of a membership term that began on `joined_on`."""
    return joined_on.replace(year=joined_on.year + MEMBERSHIP_TERM_YEARS) - timedelta(days=1)


@dataclass
class Dataset:
    """Rows per table, in dependency order, ready for COPY."""

    tables: dict[str, tuple[str, ...]]
    rows: dict[str, list[tuple[Any, ...]]]

    @classmethod
    def empty(cls) -> "Dataset":
        """A data set with every table and no rows."""
        return cls(tables=dict(COLUMNS), rows={table: [] for table in COLUMNS})

    def add(self, table: str, **values: Any) -> int:
        """Append a row (missing columns are NULL); return its id, numbered from 1 unless given."""
        columns = self.tables[table]
        if unknown := values.keys() - set(columns):
            raise KeyError(f"{table} has no columns {sorted(unknown)}")
        rows = self.rows[table]
        if "id" in columns:
            values.setdefault("id", len(rows) + 1)
        rows.append(tuple(values.get(column) for column in columns))
        return values.get("id", len(rows))

    def add_funding(
        self,
        funder_id: int,
        recipient: tuple[str, int | None],
        contribution_type: str,
        title: str,
        starts_on: date,
        ends_on: date | None = None,
        *,
        amount: Decimal | None = None,
        theme_id: int | None = None,
        description: str = "",
    ) -> int:
        """Add a funding of `recipient`, a (recipient kind, id) pair; return its id."""
        kind, recipient_id = recipient
        column = RECIPIENT_COLUMNS[kind]
        return self.add(
            "fundings",
            funder_id=funder_id,
            recipient_kind=kind,
            **({column: recipient_id} if column else {}),
            contribution_type=contribution_type,
            amount_eur=amount,
            amount_confidential=False,
            title=title,
            description=description,
            theme_id=theme_id,
            starts_on=starts_on,
            ends_on=ends_on,
        )


# --- Reference rows ------------------------------------------------------------------------

STATE_NAMES_EN = {
    "BW": "Baden-Württemberg",
    "BY": "Bavaria",
    "BE": "Berlin",
    "BB": "Brandenburg",
    "HB": "Bremen",
    "HH": "Hamburg",
    "HE": "Hesse",
    "MV": "Mecklenburg-Western Pomerania",
    "NI": "Lower Saxony",
    "NW": "North Rhine-Westphalia",
    "RP": "Rhineland-Palatinate",
    "SL": "Saarland",
    "SN": "Saxony",
    "ST": "Saxony-Anhalt",
    "SH": "Schleswig-Holstein",
    "TH": "Thuringia",
}

# code, German label, English label, description; the position is the order here.
SECTOR_DESCRIPTIONS = {
    models.SectorCode.CIVIL_SOCIETY: (
        "Vereine, Initiativen, Stiftungen, Wohlfahrtsverbände und Kirchengemeinden."
    ),
    models.SectorCode.POLITICS_ADMINISTRATION: (
        "Kommunalverwaltung, Rat und Beiräte der Stadt oder Gemeinde."
    ),
    models.SectorCode.BUSINESS: (
        "Unternehmen, Sparkassen und Banken, Stadtwerke und Wirtschaftsverbände."
    ),
    models.SectorCode.SCIENCE: (
        "Hochschulen, Forschungseinrichtungen und Bildungsträger wie Volkshochschulen."
    ),
    models.SectorCode.MEDIA: "Lokalzeitungen, Lokalradio, Bürgermedien und Online-Magazine.",
}
SECTORS = tuple(
    (sector.value, sector.label_de, sector.label_en, description)
    for sector, description in SECTOR_DESCRIPTIONS.items()
)
CIVIL_SOCIETY, POLITICS, BUSINESS, SCIENCE, MEDIA = (sector[0] for sector in SECTORS)


@dataclass(frozen=True)
class Theme:
    """A theme, with the goal and the measures a local network may pursue on it."""

    name_de: str
    name_en: str
    description: str
    goal: tuple[str, str]  # title, description
    measures: tuple[tuple[str, str], ...]  # title, description
    weight: int  # how often networks choose it as a goal
    rural: bool = False  # only small places choose it

    @property
    def slug(self) -> str:
        """The theme's slug, from its German name."""
        return slugify(self.name_de)


# Texts may name the place with `{place}`. A theme's id is its position here, counted from 1.
THEMES = (
    Theme(
        "Engagementförderung",
        "Promoting civic engagement",
        "Rahmenbedingungen, Anerkennung und Infrastruktur für freiwilliges Engagement.",
        ("Engagement sichtbar machen und anerkennen", "Engagierte in {place} werden gewürdigt."),
        (
            ("Ehrenamtsbörse", "Vereine und Interessierte finden auf der Börse zueinander."),
            ("Ehrenamtskarte", "Engagierte erhalten Vergünstigungen bei Partnern in {place}."),
            ("Tag des Ehrenamts", "Ein jährlicher Empfang würdigt die Engagierten in {place}."),
            ("Engagementpreis", "Ein Preis zeichnet jedes Jahr Projekte aus {place} aus."),
        ),
        5,
    ),
    Theme(
        "Demokratie und Beteiligung",
        "Democracy and participation",
        "Mitwirkung an Entscheidungen vor Ort und Stärkung der demokratischen Kultur.",
        ("Mehr Menschen beteiligen", "Einwohnerinnen und Einwohner gestalten {place} mit."),
        (
            ("Bürgerforum", "Einwohnerinnen und Einwohner beraten über Vorhaben in {place}."),
            ("Beteiligungswerkstatt", "Bürgerschaft und Verwaltung entwickeln gemeinsam Ideen."),
            ("Demokratiekonferenz", "Initiativen, Politik und Verwaltung beraten gemeinsam."),
        ),
        3,
    ),
    Theme(
        "Integration und Vielfalt",
        "Integration and diversity",
        "Teilhabe von Menschen mit Einwanderungsgeschichte und ein vielfältiges Miteinander.",
        ("Zugewanderte für Engagement gewinnen", "Vereine öffnen sich für neue Mitglieder."),
        (
            ("Sprachpatenschaften", "Ehrenamtliche begleiten Neuzugewanderte beim Deutschlernen."),
            ("Interkulturelle Woche", "Vereine und Migrantenorganisationen laden zur Begegnung."),
            ("Willkommenslotsen", "Lotsinnen und Lotsen helfen Neuankommenden in {place}."),
        ),
        2,
    ),
    Theme(
        "Digitalisierung",
        "Digitalisation",
        "Digitale Werkzeuge und Kompetenzen für Vereine und Engagierte.",
        ("Vereine digital stärken", "Vereine in {place} nutzen digitale Werkzeuge."),
        (
            ("Digitalsprechstunde für Vereine", "Beratung zu Vereinssoftware und Datenschutz."),
            ("Online-Engagementplattform", "Eine Plattform bündelt die Angebote in {place}."),
            ("Digitalpatenschaften", "Junge Engagierte helfen Älteren mit dem Smartphone."),
        ),
        2,
    ),
    Theme(
        "Klima und Nachhaltigkeit",
        "Climate and sustainability",
        "Engagement für Klimaschutz, Ressourcenschonung und eine lebenswerte Umwelt.",
        ("Klimainitiativen vernetzen", "Initiativen in {place} arbeiten enger zusammen."),
        (
            ("Repair-Café", "Ehrenamtliche reparieren gemeinsam mit Gästen defekte Geräte."),
            ("Gemeinschaftsgarten", "Nachbarinnen und Nachbarn gärtnern gemeinsam im Quartier."),
            ("Klimawerkstatt", "Engagierte entwickeln Ideen für ein klimafreundliches {place}."),
        ),
        2,
    ),
    Theme(
        "Familie",
        "Families",
        "Unterstützung und Entlastung von Familien durch Engagement.",
        ("Familien im Alltag entlasten", "Engagierte unterstützen Familien in {place}."),
        (
            ("Familienpatenschaften", "Patinnen und Paten begleiten Familien mit kleinen Kindern."),
            ("Familiencafé", "Ein offener Treffpunkt für Familien mit Beratung und Austausch."),
            ("Babybegrüßungsdienst", "Ehrenamtliche besuchen junge Familien."),
        ),
        2,
    ),
    Theme(
        "Bildung",
        "Education",
        "Engagement in und mit Schulen, Kitas und außerschulischen Lernorten.",
        ("Engagement in Schulen verankern", "Schulen in {place} arbeiten mit Vereinen zusammen."),
        (
            ("Lesepatenschaften", "Ehrenamtliche lesen regelmäßig mit Grundschulkindern."),
            ("Service-Learning", "Schülerinnen und Schüler engagieren sich im Unterricht."),
            ("Lernpatenschaften", "Engagierte unterstützen Kinder und Jugendliche beim Lernen."),
        ),
        2,
    ),
    Theme(
        "Ehrenamt im ländlichen Raum",
        "Volunteering in rural areas",
        "Engagement in kleinen Orten und Ortsteilen, wo Wege weit und Vereine klein sind.",
        ("Das Ehrenamt in den Ortsteilen stärken", "Auch kleine Orte finden Unterstützung."),
        (
            ("Mitfahrbänke", "Mitfahrbänke verbinden die Ortsteile und schaffen Begegnung."),
            ("Dorfgespräche", "Einwohnerinnen und Einwohner sammeln Ideen für ihren Ort."),
            ("Mobile Vereinsberatung", "Beratung zu Vorstandsarbeit und Fördermitteln vor Ort."),
        ),
        2,
        rural=True,
    ),
    Theme(
        "Jugend",
        "Youth",
        "Engagement junger Menschen und ihre Stimme in der Kommune.",
        ("Junge Menschen begeistern", "Jugendliche in {place} finden passende Angebote."),
        (
            ("Jugendforum", "Jugendliche bringen ihre Anliegen in die Kommunalpolitik ein."),
            ("Jugendengagementfonds", "Ein kleiner Fonds finanziert Projektideen junger Menschen."),
            ("Schnuppertag Engagement", "Schulklassen lernen Vereine und Einrichtungen kennen."),
        ),
        2,
    ),
    Theme(
        "Senior*innen",
        "Older people",
        "Engagement von und für ältere Menschen, gegen Einsamkeit im Alter.",
        ("Einsamkeit im Alter vorbeugen", "Ältere Menschen in {place} bleiben verbunden."),
        (
            ("Besuchsdienst", "Ehrenamtliche besuchen allein lebende ältere Menschen."),
            ("Nachbarschaftscafé", "Ein wöchentlicher Treffpunkt für Jung und Alt."),
            ("Alltagsbegleitung", "Engagierte begleiten Ältere zu Arztbesuchen und Ämtern."),
        ),
        2,
    ),
    Theme(
        "Sport",
        "Sport",
        "Sportvereine als Orte des Engagements und des Zusammenhalts.",
        ("Sportvereine stärken", "Sportvereine in {place} gewinnen neue Engagierte."),
        (
            ("Übungsleiterbörse", "Vereine und angehende Übungsleitungen finden zueinander."),
            ("Sport im Park", "Kostenlose Bewegungsangebote im Sommer, ehrenamtlich geleitet."),
            ("Vereinsberatung", "Beratung für Vorstände zu Nachwuchs, Satzung und Fördermitteln."),
        ),
        1,
    ),
    Theme(
        "Kultur",
        "Culture",
        "Kulturelle Teilhabe und ehrenamtlich getragene Kulturangebote.",
        ("Kulturelle Teilhabe ermöglichen", "Kultur in {place} steht allen offen."),
        (
            ("Kulturlotsen", "Ehrenamtliche vermitteln freie Kulturplätze."),
            ("Stadtteilfest", "Vereine und Initiativen gestalten ein Fest für die Nachbarschaft."),
            ("Offene Bühne", "Eine offene Bühne gibt Künstlerinnen und Künstlern vor Ort Raum."),
        ),
        1,
    ),
)


def theme_id(slug: str) -> int:
    """The id of the theme with `slug`."""
    return next(number for number, theme in enumerate(THEMES, 1) if theme.slug == slug)


def read_facts(name: str) -> Any:
    """One of the JSON files in facts/."""
    return json.loads((FACTS_DIR / name).read_text(encoding="utf-8"))


@cache
def federal_states() -> tuple[dict[str, str], ...]:
    """The 16 states of bundeslaender.json, each with its code, iso, name and capital."""
    return tuple(read_facts("bundeslaender.json"))


def state_names() -> dict[str, str]:
    """The German name of each state, by code."""
    return {state["code"]: state["name"] for state in federal_states()}


def add_reference_rows(dataset: Dataset) -> None:
    """Add the 16 states, the 5 sectors and the themes."""
    for state in federal_states():
        dataset.add(
            "states",
            code=state["code"],
            iso_code=state["iso"],
            name=state["name"],
            name_en=STATE_NAMES_EN[state["code"]],
            capital=state["capital"],
        )
    for position, (code, label_de, label_en, description) in enumerate(SECTORS, 1):
        dataset.add(
            "sectors",
            code=code,
            label_de=label_de,
            label_en=label_en,
            description=description,
            position=position,
        )
    for theme in THEMES:
        dataset.add(
            "themes",
            slug=theme.slug,
            name_de=theme.name_de,
            name_en=theme.name_en,
            description=theme.description,
        )


# --- Places and people ---------------------------------------------------------------------

# German kind of municipality -> the hub's CityKind value; unknown kinds count as cities.
CITY_KINDS = {
    "Stadt": "city",
    "Gemeinde": "municipality",
    "Landgemeinde": "municipality",
    "Verbandsgemeinde": "municipal_association",
    "Verwaltungsverband": "municipal_association",
    "Stadtteil": "district",
    "Bezirk": "district",
}

# German kind -> its administration and its public utility, as organisations are named.
ADMINISTRATIONS = {
    "Stadt": ("Stadtverwaltung", "Stadtwerke"),
    "Gemeinde": ("Gemeindeverwaltung", "Gemeindewerke"),
    "Landgemeinde": ("Gemeindeverwaltung", "Gemeindewerke"),
    "Verbandsgemeinde": ("Verbandsgemeindeverwaltung", "Verbandsgemeindewerke"),
    "Verwaltungsverband": ("Gemeindeverwaltungsverband", "Gemeindewerke"),
    "Stadtteil": ("Ortsverwaltung", "Stadtwerke"),
    "Bezirk": ("Bezirksamt", "Stadtwerke"),
}

# What people leave out when they name a place in passing: "Offenbach am Main" -> "Offenbach".
_NAME_QUALIFIER = re.compile(r" \(| an der | am | im | in der | in | vor der |/")


@dataclass(frozen=True)
class Place:
    """How local organisations name a place; fills `{place}`, `{region}`, `{admin}`, `{works}`."""

    place: str  # the place as locals say it
    region: str  # the larger place a district belongs to, else the place itself
    admin: str  # e.g. "Stadtverwaltung Weinheim"
    works: str  # e.g. "Stadtwerke Weinheim"

    @classmethod
    def of(cls, name: str, kind_de: str | None) -> "Place":
        """The place called `name` of the German kind `kind_de` (None: a town)."""
        kind_de = kind_de or "Stadt"
        short = _NAME_QUALIFIER.split(name)[0]
        # A district's firms and papers carry the city's name: "Sparkasse Mainz", not "Mombach".
        region = short.split("-")[0] if CITY_KINDS[kind_de] == "district" else short
        admin, works = ADMINISTRATIONS[kind_de]
        return cls(place=short, region=region, admin=f"{admin} {short}", works=f"{works} {region}")

    def fill(self, text: str) -> str:
        """`text` with this place's names filled in."""
        return text.format_map(vars(self))


FIRST_NAMES = (
    "Anna", "Lena", "Julia", "Sarah", "Laura", "Katharina", "Miriam", "Sabine", "Petra",
    "Claudia", "Aylin", "Elif", "Marta", "Johanna", "Hannah", "Nina", "Jana", "Birgit", "Ines",
    "Svenja", "Michael", "Stefan", "Andreas", "Markus", "Jan", "Tobias", "Florian", "Daniel",
    "Matthias", "Christian", "Jonas", "Lukas", "Felix", "Mehmet", "Emre", "Piotr", "Jörg", "Uwe",
    "Dirk", "Sven",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Braun",
    "Zimmermann", "Hartmann", "Krüger", "Lange", "Werner", "Lehmann", "Köhler", "Kaya", "Demir",
    "Kowalski", "Nowak", "Peters", "Jansen", "Vogel", "Friedrich", "Keller", "Günther", "Berger",
    "Roth", "Beck", "Lorenz", "Baumann",
)  # fmt: skip


def fictional_people(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """`count` fictional people as (full name, e-mail at example.org), distinct while they last."""
    people = [
        (f"{first} {last}", f"{slugify(first)}.{slugify(last)}@example.org")
        for first in FIRST_NAMES
        for last in LAST_NAMES
    ]
    rng.shuffle(people)
    return [people[number % len(people)] for number in range(count)]


# --- The plan of a local network -----------------------------------------------------------


@dataclass(frozen=True)
class ActorTemplate:
    """How an organisation of one sector is named: a `Place` fills it in, and `{surname}`."""

    name: str
    organisation_type: str
    sector: str


VOLUNTEER_AGENCY = ActorTemplate(
    "Freiwilligenagentur {place}", "Freiwilligenagentur", CIVIL_SOCIETY
)
CIVIC_FOUNDATION = ActorTemplate("Bürgerstiftung {place}", "Bürgerstiftung", CIVIL_SOCIETY)
GENERATIONS_HOUSE = ActorTemplate("Mehrgenerationenhaus {place}", "Begegnungsstätte", CIVIL_SOCIETY)
ENGAGEMENT_OFFICE = ActorTemplate("{admin} – Stabsstelle Ehrenamt", "Kommunalverwaltung", POLITICS)

ACTOR_TEMPLATES = (
    CIVIC_FOUNDATION,
    GENERATIONS_HOUSE,
    ActorTemplate("TSV {place} e. V.", "Sportverein", CIVIL_SOCIETY),
    ActorTemplate("Förderverein der Bücherei {place} e. V.", "Förderverein", CIVIL_SOCIETY),
    ActorTemplate("Caritasverband {region} e. V.", "Wohlfahrtsverband", CIVIL_SOCIETY),
    ActorTemplate("Diakonisches Werk {region}", "Wohlfahrtsverband", CIVIL_SOCIETY),
    ActorTemplate("AWO-Ortsverein {place}", "Wohlfahrtsverband", CIVIL_SOCIETY),
    ActorTemplate("Tafel {place} e. V.", "Verein", CIVIL_SOCIETY),
    ActorTemplate("Jugendring {place} e. V.", "Jugendverband", CIVIL_SOCIETY),
    ActorTemplate("Heimat- und Geschichtsverein {place} e. V.", "Verein", CIVIL_SOCIETY),
    ActorTemplate("Evangelische Kirchengemeinde {place}", "Kirchengemeinde", CIVIL_SOCIETY),
    ActorTemplate("Katholische Pfarrgemeinde {place}", "Kirchengemeinde", CIVIL_SOCIETY),
    ActorTemplate("Nachbarschaftshilfe {place} e. V.", "Verein", CIVIL_SOCIETY),
    ActorTemplate("Interkultureller Verein {place} e. V.", "Verein", CIVIL_SOCIETY),
    ActorTemplate("Kulturverein {place} e. V.", "Verein", CIVIL_SOCIETY),
    ActorTemplate("NABU-Gruppe {place}", "Umweltverband", CIVIL_SOCIETY),
    ActorTemplate("Repair-Café {place}", "Initiative", CIVIL_SOCIETY),
    ActorTemplate("Hospizverein {place} e. V.", "Verein", CIVIL_SOCIETY),
    ActorTemplate("Lions Club {place}", "Serviceclub", CIVIL_SOCIETY),
    ENGAGEMENT_OFFICE,
    ActorTemplate(
        "{admin} – Fachbereich Jugend, Familie und Soziales", "Kommunalverwaltung", POLITICS
    ),
    ActorTemplate("{admin} – Amt für Bildung und Sport", "Kommunalverwaltung", POLITICS),
    ActorTemplate("{admin} – Büro für Integration", "Kommunalverwaltung", POLITICS),
    ActorTemplate("Seniorenbeirat {place}", "Beirat", POLITICS),
    ActorTemplate("Integrationsbeirat {place}", "Beirat", POLITICS),
    ActorTemplate("Jugendparlament {place}", "Jugendgremium", POLITICS),
    ActorTemplate("Quartiersmanagement {place}", "Quartiersmanagement", POLITICS),
    ActorTemplate("Sparkasse {region}", "Kreditinstitut", BUSINESS),
    ActorTemplate("Volksbank {region} eG", "Kreditinstitut", BUSINESS),
    ActorTemplate("{works}", "Versorgungsunternehmen", BUSINESS),
    ActorTemplate("Gewerbeverein {place} e. V.", "Wirtschaftsverband", BUSINESS),
    ActorTemplate("Wohnungsbaugenossenschaft {place} eG", "Wohnungsunternehmen", BUSINESS),
    ActorTemplate("Kreishandwerkerschaft {region}", "Wirtschaftsverband", BUSINESS),
    ActorTemplate("Bäckerei {surname}", "Handwerksbetrieb", BUSINESS),
    ActorTemplate("Autohaus {surname} GmbH", "Unternehmen", BUSINESS),
    ActorTemplate("Steuerberatung {surname} & Partner", "Unternehmen", BUSINESS),
    ActorTemplate("Volkshochschule {region}", "Volkshochschule", SCIENCE),
    ActorTemplate("Hochschule {region} – Fachbereich Soziale Arbeit", "Hochschule", SCIENCE),
    ActorTemplate("Familienbildungsstätte {place}", "Bildungseinrichtung", SCIENCE),
    ActorTemplate("Schülerforschungszentrum {region}", "Bildungseinrichtung", SCIENCE),
    ActorTemplate("Wochenblatt {region}", "Lokalzeitung", MEDIA),
    ActorTemplate("Radio {region}", "Lokalradio", MEDIA),
    ActorTemplate("Offener Kanal {region}", "Bürgermedium", MEDIA),
    ActorTemplate("{region} aktuell", "Online-Magazin", MEDIA),
)

# Who coordinates a network, and how often. A volunteer agency appears only as coordinator:
# about a third of the Engagierte Städte have one (network_facts.json, figures.other).
COORDINATORS = (
    (VOLUNTEER_AGENCY, 30),
    (ENGAGEMENT_OFFICE, 35),
    (CIVIC_FOUNDATION, 20),
    (GENERATIONS_HOUSE, 15),
)

# How many actors a sector contributes beyond its first, relative to the others.
SECTOR_WEIGHTS = {CIVIL_SOCIETY: 6, POLITICS: 2, BUSINESS: 2, SCIENCE: 1, MEDIA: 1}

# The sectors of a network by composition: (sectors, weight) within each class.
BISECTORAL = (((CIVIL_SOCIETY, POLITICS), 3), ((CIVIL_SOCIETY, BUSINESS), 1))
TRISECTORAL = (
    ((CIVIL_SOCIETY, POLITICS, BUSINESS), 8),
    ((CIVIL_SOCIETY, POLITICS, SCIENCE), 1),
    ((CIVIL_SOCIETY, POLITICS, MEDIA), 1),
)
MULTISECTORAL = (
    ((CIVIL_SOCIETY, POLITICS, BUSINESS, SCIENCE), 2),
    ((CIVIL_SOCIETY, POLITICS, BUSINESS, MEDIA), 1),
    ((CIVIL_SOCIETY, POLITICS, BUSINESS, SCIENCE, MEDIA), 2),
)
# About three quarters trisectoral, the rest split between two and more than three sectors.
BISECTORAL_SHARE = MULTISECTORAL_SHARE = 0.125


@dataclass(frozen=True)
class ActorPlan:
    """One actor of a planned network; its name may hold a place's placeholders."""

    name: str
    organisation_type: str
    sector: str
    role: str


@dataclass(frozen=True)
class GoalPlan:
    """One goal of a planned network."""

    title: str
    description: str
    theme_id: int


@dataclass(frozen=True)
class MeasurePlan:
    """One measure of a planned network; its period is relative to the network's membership."""

    title: str
    description: str
    theme_id: int
    goal_index: int
    actor_indices: tuple[int, ...]
    start_share: float  # where in the membership so far the measure starts, 0 to 1
    duration_days: int
    ongoing: bool  # a standing offer without an end date

    def period(self, joined_on: date, left_on: date | None) -> tuple[date, date | None]:
        """The measure's start and end within a membership from `joined_on` (to `left_on`)."""
        until = left_on or AS_OF
        starts_on = joined_on + timedelta(days=int(self.start_share * (until - joined_on).days))
        if self.ongoing and left_on is None:
            return starts_on, None
        ends_on = starts_on + timedelta(days=self.duration_days)
        return starts_on, min(ends_on, left_on) if left_on else ends_on


@dataclass(frozen=True)
class NetworkPlan:
    """The actors, goals and measures of one local network, before ids and dates are known."""

    sectors: tuple[str, ...]
    actors: tuple[ActorPlan, ...]
    goals: tuple[GoalPlan, ...]
    measures: tuple[MeasurePlan, ...]


def compositions(rng: random.Random, count: int) -> list[tuple[str, ...]]:
    """The sectors of `count` networks: about 75 % tri-, 12.5 % bi-, 12.5 % multisectoral."""
    bisectoral = round(count * BISECTORAL_SHARE)
    multisectoral = round(count * MULTISECTORAL_SHARE)
    classes = (
        [BISECTORAL] * bisectoral
        + [MULTISECTORAL] * multisectoral
        + [TRISECTORAL] * (count - bisectoral - multisectoral)
    )
    rng.shuffle(classes)
    return [weighted_choice(rng, options) for options in classes]


def weighted_choice(rng: random.Random, options: tuple[tuple[T, int], ...]) -> T:
    """One of the options' values, chosen with the options' weights."""
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights)[0]


def plan_network(rng: random.Random, sectors: tuple[str, ...], rural: bool = True) -> NetworkPlan:
    """Plan a network of `sectors`: 8 to 25 actors, 2 to 4 goals, 2 to 6 measures; rural
    themes only for a `rural` place.

    The plan's texts still name the place with placeholders, so one plan can serve many places.
    """
    actors = plan_actors(rng, sectors)
    weights = [theme.weight if rural or not theme.rural else 0 for theme in THEMES]
    goal_themes = weighted_sample(rng, list(THEMES), weights, rng.randint(2, 4))
    goals = [GoalPlan(*theme.goal, THEMES.index(theme) + 1) for theme in goal_themes]
    candidates = [
        (goal_index, goal, measure)
        for goal_index, (goal, theme) in enumerate(zip(goals, goal_themes, strict=True))
        for measure in theme.measures
    ]
    measures = [
        MeasurePlan(
            title=title,
            description=description,
            theme_id=goal.theme_id,
            goal_index=goal_index,
            actor_indices=tuple(sorted(rng.sample(range(len(actors)), rng.randint(1, 4)))),
            start_share=rng.random() * 0.8,
            duration_days=rng.randint(120, 900),
            ongoing=rng.random() < 0.15,
        )
        for goal_index, goal, (title, description) in rng.sample(candidates, rng.randint(2, 6))
    ]
    return NetworkPlan(sectors, tuple(actors), tuple(goals), tuple(measures))


def plan_actors(rng: random.Random, sectors: tuple[str, ...]) -> list[ActorPlan]:
    """The actors of a network: one coordinator, a few core members, the rest members."""
    coordinator = weighted_choice(
        rng, tuple(option for option in COORDINATORS if option[0].sector in sectors)
    )
    pools = {
        sector: [t for t in ACTOR_TEMPLATES if t.sector == sector and t is not coordinator]
        for sector in sectors
    }
    capacity = {sector: len(pools[sector]) + (sector == coordinator.sector) for sector in sectors}
    counts = sector_counts(rng, capacity, round(rng.triangular(8, 25, 24)))
    counts[coordinator.sector] -= 1
    templates = [coordinator]
    for sector in sectors:
        templates += rng.sample(pools[sector], counts[sector])
    core = set(rng.sample(range(1, len(templates)), rng.randint(2, 5)))
    surnames = rng.sample(LAST_NAMES, len(templates))
    return [
        ActorPlan(
            name=template.name.replace("{surname}", surname),
            organisation_type=template.organisation_type,
            sector=template.sector,
            role="coordinator" if index == 0 else "core_member" if index in core else "member",
        )
        for index, (template, surname) in enumerate(zip(templates, surnames, strict=True))
    ]


def sector_counts(rng: random.Random, capacity: dict[str, int], size: int) -> dict[str, int]:
    """How many of `size` actors each sector has: at least one, at most its capacity."""
    counts = dict.fromkeys(capacity, 1)
    for _ in range(size - len(capacity)):
        open_sectors = [sector for sector in capacity if counts[sector] < capacity[sector]]
        weights = [SECTOR_WEIGHTS[sector] for sector in open_sectors]
        counts[rng.choices(open_sectors, weights)[0]] += 1
    return counts


def weighted_sample(rng: random.Random, items: list[T], weights: list[int], count: int) -> list[T]:
    """`count` distinct items, each draw weighted."""
    items, weights = list(items), list(weights)
    chosen = []
    for _ in range(count):
        index = rng.choices(range(len(items)), weights)[0]
        chosen.append(items.pop(index))
        weights.pop(index)
    return chosen


# --- A planned network, placed -------------------------------------------------------------


@dataclass(frozen=True)
class AddedMeasure:
    """A measure as added to a data set, for fundings that go to measures."""

    id: int
    title: str
    theme_id: int
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True)
class Membership:
    """A city in the network: its id, its name, where it is, and its membership period."""

    city_id: int
    name: str
    place: Place
    joined_on: date
    left_on: date | None = None


def add_network(
    dataset: Dataset,
    rng: random.Random,
    city: Membership,
    plan: NetworkPlan,
    actor_slug: Callable[[str], str],
    measure_slug: Callable[[str], str],
) -> tuple[int, list[AddedMeasure]]:
    """Add the local network `plan` describes for `city`, with its actors, goals and measures.

    `actor_slug` and `measure_slug` turn an actor's name or a measure's title into a free slug.
    Return the network's id and its measures.
    """
    network_id = dataset.add(
        "local_networks",
        city_id=city.city_id,
        name=rng.choice(NETWORK_NAMES).format(name=city.name),
        description=network_description(plan, city.place),
        founded_on=city.joined_on - timedelta(days=rng.randint(60, 540)),
    )
    actor_ids = [
        add_actor(dataset, network_id, actor, city.place.fill(actor.name), actor_slug)
        for actor in plan.actors
    ]
    goal_ids = [
        dataset.add(
            "goals",
            network_id=network_id,
            title=goal.title,
            description=city.place.fill(goal.description),
            theme_id=goal.theme_id,
        )
        for goal in plan.goals
    ]
    measures = []
    for measure in plan.measures:
        starts_on, ends_on = measure.period(city.joined_on, city.left_on)
        measure_id = dataset.add(
            "measures",
            network_id=network_id,
            goal_id=goal_ids[measure.goal_index],
            slug=measure_slug(measure.title),
            title=measure.title,
            description=city.place.fill(measure.description),
            theme_id=measure.theme_id,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        for index in measure.actor_indices:
            dataset.add(
                "measure_actors",
                measure_id=measure_id,
                actor_id=actor_ids[index],
                network_id=network_id,
            )
        measures.append(
            AddedMeasure(measure_id, measure.title, measure.theme_id, starts_on, ends_on)
        )
    return network_id, measures


# Most networks carry the programme's name; some keep one of their own.
NETWORK_NAMES = ("Engagierte Stadt {name}",) * 4 + ("Netzwerk Engagement {name}",)
COORDINATOR_DESCRIPTION = "Anlaufstelle des lokalen Netzwerks; koordiniert die Zusammenarbeit."


def network_description(plan: NetworkPlan, place: Place) -> str:
    """`Das Netzwerk verbindet 17 Akteure aus Zivilgesellschaft, … sowie Wirtschaft in X.`"""
    labels = [label for code, label, *_ in SECTORS if code in plan.sectors]
    sectors = ", ".join(labels[:-1]) + " sowie " + labels[-1]
    return f"Das Netzwerk verbindet {len(plan.actors)} Akteure aus {sectors} in {place.place}."


def add_actor(
    dataset: Dataset, network_id: int, actor: ActorPlan, name: str, slug: Callable[[str], str]
) -> int:
    """Add one actor of a network under its filled-in `name`; return its id."""
    return dataset.add(
        "actors",
        network_id=network_id,
        slug=slug(name),
        name=name,
        organisation_type=actor.organisation_type,
        sector_code=actor.sector,
        role=actor.role,
        description=COORDINATOR_DESCRIPTION if actor.role == "coordinator" else "",
    )
