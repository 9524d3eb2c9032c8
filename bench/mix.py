"""The portal query mix: each query as the hub, PostGraphile and the floor ask it.

A query of the mix names its GraphQL for the hub, the equivalent GraphQL for PostGraphile (or
why there is none), and the floor's one hand-written SQL statement, which builds the hub's very
response in PostgreSQL. Before timing, the floor must answer exactly what the hub answers, and
PostGraphile the same objects (`shape` reduces either response to the objects it holds).

Extending the mix is adding one `Query` to `MIX`: its root field tells the harness whether the
hub has it yet.
"""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Json = Any
Variables = dict[str, Any]


@dataclass(frozen=True)
class PostGraphileQuery:
    """The same query in PostGraphile's names, and how to reduce either answer to its objects."""

    graphql: str
    shape: Callable[[Json], Json]
    hub_shape: Callable[[Json], Json]
    differences: str = ""


@dataclass(frozen=True)
class Query:
    """One query of the mix, asked the same way of every server.

    `floor_without_trigram` is the floor's statement for databases without pg_trgm, where the
    hub's search does without typo tolerance. `postgraphile` is None where PostGraphile cannot
    express the query; `not_comparable` says why. `large` marks the large-result queries, where
    the goal is twice PostGraphile's rate.
    """

    name: str
    title: str
    root_field: str
    hub: str
    variables: Callable[[int], Variables]
    floor: str
    floor_parameters: tuple[str, ...]
    floor_without_trigram: str | None = None
    postgraphile: PostGraphileQuery | None = None
    not_comparable: str = ""
    large: bool = False


def node_key(global_id: str) -> int:
    """The primary key inside one of the hub's global IDs (base64 of `Type:key`)."""
    return int(base64.b64decode(global_id).decode().partition(":")[2])


def nodes(connection: Json) -> list[Json]:
    """The nodes of a hub connection (`edges { node }`)."""
    return [edge["node"] for edge in connection["edges"]]


def city_variables(scale: int) -> Variables:
    """A city in the middle of the data set: `city-00500` at 1,000 cities."""
    return {"slug": f"city-{max(scale // 2, 1):05d}"}


# --- One city: its state and state partner, its network and the network's actors ----------

CITY_HUB = """
query City($slug: String!) {
  city(slug: $slug) {
    id slug name kind population latitude longitude status joinedOn website
    state { code name partnership { institution startsOn } }
    localNetwork {
      id name foundedOn
      actors(first: 100) {
        totalCount
        edges { node { id slug name organisationType role website sector { code } } }
      }
    }
  }
}
"""

CITY_POSTGRAPHILE = """
query City($slug: String!) {
  cityBySlug(slug: $slug) {
    rowId slug name kind population latitude longitude status joinedOn website
    stateByStateCode { code name statePartnershipByStateCode { institution startsOn } }
    localNetworkByCityId {
      rowId name foundedOn
      actorsByNetworkId(first: 100, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) {
        totalCount
        nodes { rowId slug name organisationType role website sectorBySectorCode { code } }
      }
    }
  }
}
"""

# The hub's JSON, built by PostgreSQL: global IDs are base64 of `Type:key`, enums upper case.
CITY_FLOOR = """
SELECT json_build_object('data', json_build_object('city', (
  SELECT json_build_object(
    'id', encode(convert_to('City:' || c.id, 'UTF8'), 'base64'),
    'slug', c.slug, 'name', c.name, 'kind', upper(c.kind), 'population', c.population,
    'latitude', c.latitude, 'longitude', c.longitude, 'status', upper(c.status),
    'joinedOn', c.joined_on, 'website', c.website,
    'state', json_build_object(
      'code', s.code, 'name', s.name,
      'partnership', (
        SELECT json_build_object('institution', p.institution, 'startsOn', p.starts_on)
        FROM state_partnerships p WHERE p.state_code = s.code)),
    'localNetwork', (
      SELECT json_build_object(
        'id', encode(convert_to('LocalNetwork:' || n.id, 'UTF8'), 'base64'),
        'name', n.name, 'foundedOn', n.founded_on,
        'actors', json_build_object(
          'totalCount', (SELECT count(*) FROM actors WHERE network_id = n.id),
          'edges', coalesce((
            SELECT json_agg(json_build_object('node', json_build_object(
              'id', encode(convert_to('Actor:' || a.id, 'UTF8'), 'base64'),
              'slug', a.slug, 'name', a.name, 'organisationType', a.organisation_type,
              'role', upper(a.role), 'website', a.website,
              'sector', json_build_object('code', upper(a.sector_code))
            )) ORDER BY a.name, a.id)
            FROM (SELECT * FROM actors WHERE network_id = n.id ORDER BY name, id LIMIT 100) a
          ), '[]')))
      FROM local_networks n WHERE n.city_id = c.id))
  FROM cities c JOIN states s ON s.code = c.state_code
  WHERE c.slug = $1)))::text
"""


def city_shape(city: Json, *, state: str, partner: str, network: str, actors: str) -> Json:
    """The objects of the one-city query, whichever server's names it comes in."""
    if city is None:
        return None
    partnership = city[state][partner]
    local_network = city[network]
    return {
        "city": city["slug"],
        "state": city[state]["code"],
        "partner": partnership and partnership["institution"],
        "network": local_network and local_network["name"],
        "actors": local_network and local_network[actors]["totalCount"],
        "actor slugs": local_network
        and [actor["slug"] for actor in list_of(local_network[actors])],
    }


def list_of(connection: Json) -> list[Json]:
    """The items of a connection, hub (`edges { node }`) or PostGraphile (`nodes`)."""
    return connection["nodes"] if "nodes" in connection else nodes(connection)


CITY = Query(
    name="city",
    title="One city by slug: state, state partner, local network and its ~20 actors",
    root_field="city",
    hub=CITY_HUB,
    variables=city_variables,
    floor=CITY_FLOOR,
    floor_parameters=("slug",),
    postgraphile=PostGraphileQuery(
        graphql=CITY_POSTGRAPHILE,
        shape=lambda data: city_shape(
            data["cityBySlug"],
            state="stateByStateCode",
            partner="statePartnershipByStateCode",
            network="localNetworkByCityId",
            actors="actorsByNetworkId",
        ),
        hub_shape=lambda data: city_shape(
            data["city"],
            state="state",
            partner="partnership",
            network="localNetwork",
            actors="actors",
        ),
    ),
)


# --- 100 cities: state, actors, and the fundings that reach them with their funders -------

CITIES_HUB = """
query Cities($first: Int!) {
  cities(first: $first) {
    totalCount
    pageInfo { hasNextPage }
    edges {
      node {
        id slug name population
        state { code name }
        localNetwork { name actors(first: 100) { edges { node { id slug name role } } } }
        fundings(first: 20) {
          edges {
            node { id title contributionType amountEur startsOn funder { slug name } }
          }
        }
      }
    }
  }
}
"""

# A city's fundings are those of its network and of the network's measures: PostGraphile
# follows both foreign keys, the hub has one field for them.
CITIES_POSTGRAPHILE = """
query Cities($first: Int!) {
  allCities(first: $first, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) {
    totalCount
    pageInfo { hasNextPage }
    nodes {
      rowId slug name population
      stateByStateCode { code name }
      localNetworkByCityId {
        name
        actorsByNetworkId(orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) { nodes { rowId slug name role } }
        fundingsByNetworkId { nodes { ...Funding } }
        measuresByNetworkId { nodes { fundingsByMeasureId { nodes { ...Funding } } } }
      }
    }
  }
}
fragment Funding on Funding {
  rowId title contributionType amountEur startsOn funderByFunderId { slug name }
}
"""

CITIES_FLOOR = """
WITH page AS (SELECT * FROM cities ORDER BY name, id LIMIT $1)
SELECT json_build_object('data', json_build_object('cities', json_build_object(
  'totalCount', (SELECT count(*) FROM cities),
  'pageInfo', json_build_object('hasNextPage', (SELECT count(*) FROM cities) > $1),
  'edges', coalesce(json_agg(json_build_object('node', json_build_object(
    'id', encode(convert_to('City:' || c.id, 'UTF8'), 'base64'),
    'slug', c.slug, 'name', c.name, 'population', c.population,
    'state', json_build_object('code', s.code, 'name', s.name),
    'localNetwork', network.value,
    'fundings', json_build_object('edges', fundings.value)
  )) ORDER BY c.name, c.id), '[]'))))::text
FROM page c
JOIN states s ON s.code = c.state_code
LEFT JOIN LATERAL (
  SELECT json_build_object('name', n.name, 'actors', json_build_object('edges', coalesce((
    SELECT json_agg(json_build_object('node', json_build_object(
      'id', encode(convert_to('Actor:' || a.id, 'UTF8'), 'base64'),
      'slug', a.slug, 'name', a.name, 'role', upper(a.role)
    )) ORDER BY a.name, a.id)
    FROM (SELECT * FROM actors WHERE network_id = n.id ORDER BY name, id LIMIT 100) a
  ), '[]'))) AS value
  FROM local_networks n WHERE n.city_id = c.id
) network ON true
CROSS JOIN LATERAL (
  SELECT coalesce(json_agg(json_build_object('node', json_build_object(
    'id', encode(convert_to('Funding:' || f.id, 'UTF8'), 'base64'),
    'title', f.title, 'contributionType', upper(f.contribution_type),
    'amountEur', CASE WHEN NOT f.amount_confidential THEN f.amount_eur::text END,
    'startsOn', f.starts_on,
    'funder', json_build_object('slug', d.slug, 'name', d.name)
  )) ORDER BY f.starts_on DESC, f.id), '[]') AS value
  FROM (
    SELECT f.* FROM fundings f
    JOIN local_networks n ON n.id = f.network_id WHERE n.city_id = c.id
    UNION ALL
    SELECT f.* FROM fundings f
    JOIN measures m ON m.id = f.measure_id
    JOIN local_networks n ON n.id = m.network_id WHERE n.city_id = c.id
    ORDER BY starts_on DESC, id LIMIT 20
  ) f
  JOIN funders d ON d.id = f.funder_id
) fundings
"""


def cities_shape(
    connection: Json, *, key: Callable[[Json], int], fields: dict[str, str], fundings: Callable
) -> Json:
    """The objects of the 100-cities query, whichever server's names they come in."""
    return {
        "total": connection["totalCount"],
        "has next page": connection["pageInfo"]["hasNextPage"],
        "cities": [
            {
                "city": city["slug"],
                "state": city[fields["state"]]["code"],
                "actors": [
                    key(actor) for actor in list_of(city[fields["network"]][fields["actors"]])
                ],
                "fundings": sorted(
                    (key(funding), funding[fields["funder"]]["slug"]) for funding in fundings(city)
                ),
            }
            for city in list_of(connection)
        ],
    }


def hub_key(item: Json) -> int:
    """The primary key of a hub object, from its global ID."""
    return node_key(item["id"])


def postgraphile_key(item: Json) -> int:
    """The primary key of a PostGraphile object (`rowId`)."""
    return int(item["rowId"])


def postgraphile_city_fundings(city: Json) -> list[Json]:
    """The fundings of a city's network and of its measures, as PostGraphile nests them."""
    network = city["localNetworkByCityId"]
    of_measures = [
        funding
        for measure in network["measuresByNetworkId"]["nodes"]
        for funding in measure["fundingsByMeasureId"]["nodes"]
    ]
    return network["fundingsByNetworkId"]["nodes"] + of_measures


CITIES = Query(
    name="cities-100",
    title="100 cities with state, actors, and fundings with their funder",
    root_field="cities",
    hub=CITIES_HUB,
    variables=lambda scale: {"first": 100},
    floor=CITIES_FLOOR,
    floor_parameters=("first",),
    postgraphile=PostGraphileQuery(
        graphql=CITIES_POSTGRAPHILE,
        shape=lambda data: cities_shape(
            data["allCities"],
            key=postgraphile_key,
            fields={
                "state": "stateByStateCode",
                "network": "localNetworkByCityId",
                "actors": "actorsByNetworkId",
                "funder": "funderByFunderId",
            },
            fundings=postgraphile_city_fundings,
        ),
        hub_shape=lambda data: cities_shape(
            data["cities"],
            key=hub_key,
            fields={
                "state": "state",
                "network": "localNetwork",
                "actors": "actors",
                "funder": "funder",
            },
            fundings=lambda city: nodes(city["fundings"]),
        ),
        differences="a city's fundings are its network's and its network's measures': "
        "PostGraphile lists the network's fundings and each of its measures with their "
        "fundings (about 4 measures per network, most without any), the hub has `fundings` "
        "on the city (at most 20 per city; there are 3). PostGraphile's nested lists are "
        "unbounded, the hub's are pages with `first`.",
    ),
    large=True,
)


# --- A funder's portal: funder → fundings → city → state → state partner ------------------

FUNDER_HUB = """
query FunderPortal($slug: String!, $first: Int!) {
  funder(slug: $slug) {
    id slug name kind scope
    fundings(first: $first) {
      totalCount
      edges {
        node {
          id title contributionType recipientKind amountEur startsOn endsOn
          city { slug name state { code name partnership { institution startsOn } } }
        }
      }
    }
  }
}
"""

# The city a funding reaches is its network's or its measure's network's: PostGraphile
# follows both paths, the hub has one field for them.
FUNDER_POSTGRAPHILE = """
query FunderPortal($slug: String!, $first: Int!) {
  funderBySlug(slug: $slug) {
    rowId slug name kind scope
    fundingsByFunderId(first: $first, orderBy: [STARTS_ON_DESC, PRIMARY_KEY_ASC]) {
      totalCount
      nodes {
        rowId title contributionType recipientKind amountEur startsOn endsOn
        localNetworkByNetworkId { cityByCityId { ...City } }
        measureByMeasureId { localNetworkByNetworkId { cityByCityId { ...City } } }
      }
    }
  }
}
fragment City on City {
  slug name
  stateByStateCode { code name statePartnershipByStateCode { institution startsOn } }
}
"""

FUNDER_FLOOR = """
SELECT json_build_object('data', json_build_object('funder', (
  SELECT json_build_object(
    'id', encode(convert_to('Funder:' || d.id, 'UTF8'), 'base64'),
    'slug', d.slug, 'name', d.name, 'kind', upper(d.kind), 'scope', upper(d.scope),
    'fundings', json_build_object(
      'totalCount', (SELECT count(*) FROM fundings WHERE funder_id = d.id),
      'edges', coalesce((
        SELECT json_agg(json_build_object('node', json_build_object(
          'id', encode(convert_to('Funding:' || f.id, 'UTF8'), 'base64'),
          'title', f.title, 'contributionType', upper(f.contribution_type),
          'recipientKind', upper(f.recipient_kind),
          'amountEur', CASE WHEN NOT f.amount_confidential THEN f.amount_eur::text END,
          'startsOn', f.starts_on, 'endsOn', f.ends_on,
          'city', (
            SELECT json_build_object(
              'slug', c.slug, 'name', c.name,
              'state', json_build_object(
                'code', s.code, 'name', s.name,
                'partnership', (
                  SELECT json_build_object('institution', p.institution, 'startsOn', p.starts_on)
                  FROM state_partnerships p WHERE p.state_code = s.code)))
            FROM local_networks n
            JOIN cities c ON c.id = n.city_id
            JOIN states s ON s.code = c.state_code
            WHERE n.id = coalesce(
              f.network_id, (SELECT network_id FROM measures WHERE id = f.measure_id)))
        )) ORDER BY f.starts_on DESC, f.id)
        FROM (
          SELECT * FROM fundings WHERE funder_id = d.id ORDER BY starts_on DESC, id LIMIT $2
        ) f
      ), '[]')))
  FROM funders d WHERE d.slug = $1)))::text
"""


def funder_shape(
    funder: Json, *, key: Callable[[Json], int], fundings: str, city: Callable
) -> Json:
    """The objects of the funder portal, whichever server's names they come in."""
    if funder is None:
        return None
    return {
        "funder": funder["slug"],
        "fundings": funder[fundings]["totalCount"],
        "page": [(key(funding), city(funding)) for funding in list_of(funder[fundings])],
    }


def postgraphile_funding_city(funding: Json) -> Json:
    """The slug, state and state partner of the city a funding reaches, through either path."""
    network = funding["localNetworkByNetworkId"] or (funding["measureByMeasureId"] or {}).get(
        "localNetworkByNetworkId"
    )
    if network is None:
        return None
    city = network["cityByCityId"]
    state = city["stateByStateCode"]
    partnership = state["statePartnershipByStateCode"]
    return (city["slug"], state["code"], partnership and partnership["institution"])


def hub_funding_city(funding: Json) -> Json:
    """The slug, state and state partner of the city a funding reaches."""
    city = funding["city"]
    if city is None:
        return None
    partnership = city["state"]["partnership"]
    return (city["slug"], city["state"]["code"], partnership and partnership["institution"])


FUNDER = Query(
    name="funder-portal",
    title="A funder's portal: 100 fundings → city → state → state partner",
    root_field="funder",
    hub=FUNDER_HUB,
    # The first nationwide funder: it funds networks and measures, so both paths to a city.
    variables=lambda scale: {"slug": "funder-017", "first": 100},
    floor=FUNDER_FLOOR,
    floor_parameters=("slug", "first"),
    postgraphile=PostGraphileQuery(
        graphql=FUNDER_POSTGRAPHILE,
        shape=lambda data: funder_shape(
            data["funderBySlug"],
            key=postgraphile_key,
            fundings="fundingsByFunderId",
            city=postgraphile_funding_city,
        ),
        hub_shape=lambda data: funder_shape(
            data["funder"], key=hub_key, fundings="fundings", city=hub_funding_city
        ),
        differences="the city a funding reaches is its network's or its measure's network's: "
        "PostGraphile follows both paths for each funding, the hub has `city` on the funding.",
    ),
)


# --- 500 cities with all their actors: about 10,000 objects -------------------------------

CITIES_ACTORS_HUB = """
query CitiesWithActors($first: Int!) {
  cities(first: $first) {
    edges {
      node {
        id slug name
        localNetwork {
          name
          actors(first: 100) { edges { node { id slug name role organisationType } } }
        }
      }
    }
  }
}
"""

CITIES_ACTORS_POSTGRAPHILE = """
query CitiesWithActors($first: Int!) {
  allCities(first: $first, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) {
    nodes {
      rowId slug name
      localNetworkByCityId {
        name
        actorsByNetworkId(first: 100, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) {
          nodes { rowId slug name role organisationType }
        }
      }
    }
  }
}
"""

CITIES_ACTORS_FLOOR = """
SELECT json_build_object('data', json_build_object('cities', json_build_object(
  'edges', coalesce(json_agg(json_build_object('node', json_build_object(
    'id', encode(convert_to('City:' || c.id, 'UTF8'), 'base64'),
    'slug', c.slug, 'name', c.name,
    'localNetwork', network.value
  )) ORDER BY c.name, c.id), '[]'))))::text
FROM (SELECT * FROM cities ORDER BY name, id LIMIT $1) c
LEFT JOIN LATERAL (
  SELECT json_build_object('name', n.name, 'actors', json_build_object('edges', coalesce((
    SELECT json_agg(json_build_object('node', json_build_object(
      'id', encode(convert_to('Actor:' || a.id, 'UTF8'), 'base64'),
      'slug', a.slug, 'name', a.name, 'role', upper(a.role),
      'organisationType', a.organisation_type
    )) ORDER BY a.name, a.id)
    FROM (SELECT * FROM actors WHERE network_id = n.id ORDER BY name, id LIMIT 100) a
  ), '[]'))) AS value
  FROM local_networks n WHERE n.city_id = c.id
) network ON true
"""


def cities_actors_shape(connection: Json, *, key: Callable, network: str, actors: str) -> Json:
    """The objects of the 500-cities query: each city with its actors, in order."""
    return [
        (
            city["slug"],
            city[network] and [key(actor) for actor in list_of(city[network][actors])],
        )
        for city in list_of(connection)
    ]


CITIES_ACTORS = Query(
    name="cities-500",
    title="500 cities with all their actors (~10,000 objects)",
    root_field="cities",
    hub=CITIES_ACTORS_HUB,
    variables=lambda scale: {"first": 500},
    floor=CITIES_ACTORS_FLOOR,
    floor_parameters=("first",),
    postgraphile=PostGraphileQuery(
        graphql=CITIES_ACTORS_POSTGRAPHILE,
        shape=lambda data: cities_actors_shape(
            data["allCities"],
            key=postgraphile_key,
            network="localNetworkByCityId",
            actors="actorsByNetworkId",
        ),
        hub_shape=lambda data: cities_actors_shape(
            data["cities"], key=hub_key, network="localNetwork", actors="actors"
        ),
    ),
    large=True,
)


# --- Statistics of one state --------------------------------------------------------------

STATISTICS_HUB = """
query StateStatistics($state: String!) {
  statistics(state: $state) {
    citiesByKind { kind count }
    citiesByStatus { status count }
    actorsBySector { sector count }
    sectorComposition {
      networkCount networksWithActors
      byComposition { composition count }
      trisectoralShare multisectoralShare
    }
    fundingTotals {
      byFunder { funder { slug name } amountEur fundingCount }
      byContributionType { contributionType amountEur fundingCount }
      byYear { year amountEur fundingCount }
    }
  }
}
"""

# The fundings reaching the state `$1`, by index, network by network, from the networks of its
# cities (`scope_networks`): a funding has one recipient, a network, a measure of a network or
# a state partnership.
STATE_FUNDINGS = """
  SELECT f.* FROM scope_networks n
  CROSS JOIN LATERAL (SELECT * FROM fundings WHERE network_id = n.id) f
  UNION ALL
  SELECT f.* FROM scope_networks n
  CROSS JOIN LATERAL (SELECT id FROM measures WHERE network_id = n.id) m
  CROSS JOIN LATERAL (SELECT * FROM fundings WHERE measure_id = m.id) f
  UNION ALL
  SELECT f.* FROM fundings f
  JOIN state_partnerships p ON p.id = f.state_partnership_id WHERE p.state_code = $1
"""

# A state's figures as the writes keep them (`statistics_figures`, kept by the triggers of the
# migration `statistics kept by the writes`): the hub reads the same rows, so the floor reads
# them too, a few rows per state at any size, and builds the hub's JSON from them.
STATISTICS_FLOOR = """
WITH kept AS (
  SELECT figure, key, number, amount_eur, funding_count FROM statistics_figures WHERE region = $1
),
compositions AS (SELECT key, number FROM kept WHERE figure = 'networks_by_composition'),
composition_counts AS (
  SELECT coalesce(sum(number), 0) AS networks,
    coalesce(sum(number) FILTER (WHERE key <> 'none'), 0) AS with_actors,
    coalesce(sum(number) FILTER (WHERE key = 'trisectoral'), 0) AS trisectoral,
    coalesce(sum(number) FILTER (WHERE key = 'multisectoral'), 0) AS multisectoral
  FROM compositions
)
SELECT json_build_object('data', json_build_object('statistics', json_build_object(
  'citiesByKind', (
    SELECT coalesce(json_agg(
      json_build_object('kind', upper(key), 'count', number) ORDER BY key), '[]')
    FROM kept WHERE figure = 'cities_by_kind'),
  'citiesByStatus', (
    SELECT coalesce(json_agg(
      json_build_object('status', upper(key), 'count', number) ORDER BY key), '[]')
    FROM kept WHERE figure = 'cities_by_status'),
  'actorsBySector', (
    SELECT coalesce(json_agg(
      json_build_object('sector', upper(key), 'count', number) ORDER BY key), '[]')
    FROM kept WHERE figure = 'actors_by_sector'),
  'sectorComposition', (
    SELECT json_build_object(
      'networkCount', networks, 'networksWithActors', with_actors,
      'byComposition', (
        SELECT json_agg(json_build_object('composition', upper(name), 'count', coalesce((
          SELECT number FROM compositions WHERE key = name), 0)) ORDER BY position)
        FROM unnest(ARRAY['none', 'monosectoral', 'bisectoral', 'trisectoral', 'multisectoral'])
          WITH ORDINALITY AS classes(name, position)),
      'trisectoralShare', trisectoral::float8 / nullif(with_actors, 0),
      'multisectoralShare', multisectoral::float8 / nullif(with_actors, 0))
    FROM composition_counts),
  'fundingTotals', json_build_object(
    'byFunder', (
      SELECT coalesce(json_agg(json_build_object(
        'funder', json_build_object('slug', d.slug, 'name', d.name),
        'amountEur', k.amount_eur::text, 'fundingCount', k.funding_count) ORDER BY d.id), '[]')
      FROM kept k JOIN funders d ON d.id::text = k.key
      WHERE k.figure = 'fundings_by_funder'),
    'byContributionType', (
      SELECT coalesce(json_agg(json_build_object(
        'contributionType', upper(key), 'amountEur', amount_eur::text,
        'fundingCount', funding_count) ORDER BY key), '[]')
      FROM kept WHERE figure = 'fundings_by_contribution_type'),
    'byYear', (
      SELECT coalesce(json_agg(json_build_object(
        'year', key::integer, 'amountEur', amount_eur::text, 'fundingCount', funding_count)
        ORDER BY key::integer), '[]')
      FROM kept WHERE figure = 'fundings_by_year')))))::text
"""

STATISTICS = Query(
    name="statistics",
    title="Statistics of one state: counts, sector composition, funding totals",
    root_field="statistics",
    hub=STATISTICS_HUB,
    variables=lambda scale: {"state": "NW"},
    floor=STATISTICS_FLOOR,
    floor_parameters=("state",),
    not_comparable="PostGraphile's amber preset has no aggregates (they take the "
    "@graphile/pg-aggregates plugin), and a funding reaches its state through its network, its "
    "measure's network or a state partnership: a custom SQL function each.",
)


# --- Grouped aggregates: funding totals of a state's foundations by theme and year ------

AGGREGATES_HUB = """
query FoundationTotals($state: String!, $above: Decimal!) {
  fundings(filter: {recipientStates: [$state], funderKinds: [FOUNDATION]}) {
    aggregates(
      groupBy: [THEME, START_YEAR]
      having: [{function: SUM, field: AMOUNT_EUR, gt: $above}]
      orderBy: [{function: SUM, field: AMOUNT_EUR}]
    ) {
      groups { key { theme startYear } count sum { amountEur } }
    }
  }
}
"""

# The fundings reaching the state (by index, network by network, once: not again for each
# foundation), those of foundations grouped; the public sums only amounts that are not
# confidential.
AGGREGATES_FLOOR = f"""
WITH scope_networks AS (
  SELECT n.id FROM local_networks n JOIN cities c ON c.id = n.city_id WHERE c.state_code = $1
),
scope_fundings AS MATERIALIZED (
{STATE_FUNDINGS}),
groups AS (
  SELECT t.slug AS theme, extract(year FROM f.starts_on)::integer AS year, count(*) AS count,
    sum(f.amount_eur) FILTER (WHERE NOT f.amount_confidential) AS amount
  FROM scope_fundings f
  JOIN funders d ON d.id = f.funder_id
  LEFT JOIN themes t ON t.id = f.theme_id
  WHERE d.kind = 'foundation'
  GROUP BY 1, 2
  HAVING sum(f.amount_eur) FILTER (WHERE NOT f.amount_confidential) > $2::text::numeric
)
SELECT json_build_object('data', json_build_object('fundings', json_build_object(
  'aggregates', json_build_object('groups', (
    SELECT coalesce(json_agg(json_build_object(
      'key', json_build_object('theme', theme, 'startYear', year),
      'count', count, 'sum', json_build_object('amountEur', amount::text))
      ORDER BY amount DESC NULLS LAST, theme, year), '[]')
    FROM groups)))))::text
"""

AGGREGATES = Query(
    name="aggregates",
    title="Grouped aggregates: a state's foundation fundings by theme and year, over a sum",
    root_field="fundings",
    hub=AGGREGATES_HUB,
    variables=lambda scale: {"state": "NW", "above": "10000"},
    floor=AGGREGATES_FLOOR,
    floor_parameters=("state", "above"),
    not_comparable="PostGraphile's amber preset has no aggregates (they take the "
    "@graphile/pg-aggregates plugin), and a funding reaches its state through its network, its "
    "measure's network or a state partnership: a custom SQL function each.",
)


# --- Search across cities, actors, measures and funders -----------------------------------

SEARCH_HUB = """
query Search($text: String!, $first: Int!) {
  search(text: $text, first: $first) {
    totalCount
    pageInfo { hasNextPage }
    edges {
      rank
      node {
        __typename
        ... on City { id slug name state { code } }
        ... on Actor { id slug name }
        ... on Measure { id slug title }
        ... on Funder { id slug name }
      }
    }
  }
}
"""

# The hub's ranking: German full text (the text as a web search, or each word as a prefix), an
# exact name first of all, and with pg_trgm the similarity of the name. Hits match the words, or
# (with pg_trgm) have a name the text is similar to a part of, where the words found fewer than
# 100; at most 100 of each per table are ranked. The documents are the stored columns the search
# indexes index; the queries are InitPlans, so that the indexes serve them.
WORDS_QUERY = """(SELECT websearch_to_tsquery('german', $1)
    || to_tsquery('german', string_agg(word[1] || ':*', ' & '))
    FROM regexp_matches($1, '[[:alnum:]]+', 'g') AS word)"""


def search_hits(kind: int, table: str, name: str, trigram: bool) -> str:
    """SELECT kind, id and rank of the hits in one table, at most 100 per way of matching."""
    ranked = f"""
  SELECT {kind} AS kind, id, ts_rank(search_document, {WORDS_QUERY})
      + CASE WHEN lower({name}) = lower($1) THEN 3.0::float8 ELSE 0.0::float8 END
      {f"+ similarity({name}, $1)" if trigram else ""} AS rank
  FROM {table}"""
    matches_words = f"search_document @@ {WORDS_QUERY}"
    word_hits = f"({ranked} WHERE {matches_words} LIMIT 100)"
    if not trigram:
        return word_hits
    room = f"NOT EXISTS (SELECT FROM {table} WHERE {matches_words} OFFSET 99)"
    return (
        f"{word_hits} UNION ALL"
        f" ({ranked} WHERE {room} AND $1 <% {name} AND NOT {matches_words} LIMIT 100)"
    )


def search_node(typename: str, table: str, fields: str) -> str:
    """The JSON of one hit's row, with the hub's global ID."""
    return f"""(
      SELECT json_build_object('__typename', '{typename}',
        'id', encode(convert_to('{typename}:' || id, 'UTF8'), 'base64'), {fields})
      FROM {table} WHERE id = ranked.id)"""


def search_floor(trigram: bool) -> str:
    """The floor's search statement, with typo tolerance where the database has pg_trgm."""
    hits = " UNION ALL".join(
        (
            search_hits(0, "cities", "name", trigram),
            search_hits(1, "actors", "name", trigram),
            search_hits(2, "measures", "title", trigram),
            search_hits(3, "funders", "name", trigram),
        )
    )
    city = search_node(
        "City",
        "cities",
        "'slug', slug, 'name', name, 'state', json_build_object('code', state_code)",
    )
    actor = search_node("Actor", "actors", "'slug', slug, 'name', name")
    measure = search_node("Measure", "measures", "'slug', slug, 'title', title")
    funder = search_node("Funder", "funders", "'slug', slug, 'name', name")
    return f"""
WITH hits AS ({hits}),
ranked AS (
  SELECT *, row_number() OVER (ORDER BY rank DESC, kind, id) AS number, count(*) OVER () AS total
  FROM hits
)
SELECT json_build_object('data', json_build_object('search', json_build_object(
  'totalCount', coalesce(max(total), 0),
  'pageInfo', json_build_object('hasNextPage', coalesce(max(total), 0) > $2),
  'edges', coalesce(json_agg(json_build_object('rank', rank, 'node', CASE kind
    WHEN 0 THEN {city} WHEN 1 THEN {actor} WHEN 2 THEN {measure} ELSE {funder}
    END) ORDER BY number) FILTER (WHERE number <= $2), '[]'))))::text
FROM ranked
"""


SEARCH = Query(
    name="search",
    title="Search: cities, actors, measures and funders matching a place name, best first",
    root_field="search",
    hub=SEARCH_HUB,
    variables=lambda scale: {"text": "Lindenfeld", "first": 20},
    floor=search_floor(trigram=True),
    floor_without_trigram=search_floor(trigram=False),
    floor_parameters=("text", "first"),
    not_comparable="Search ranks German full text (stemmed words and prefixes) with typo "
    "tolerance across four tables; PostGraphile's amber preset has no search, it would take a "
    "custom SQL function.",
)


# --- Federation: a gateway's batch of 500 city references ----------------------------------

ENTITIES_HUB = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on City { id slug name population status state { code name } }
  }
}
"""

# The references are global IDs (base64 of `City:<key>`), decoded in SQL, in their order.
ENTITIES_FLOOR = """
SELECT json_build_object('data', json_build_object('_entities', coalesce(json_agg((
  SELECT json_build_object(
    'id', encode(convert_to('City:' || c.id, 'UTF8'), 'base64'),
    'slug', c.slug, 'name', c.name, 'population', c.population, 'status', upper(c.status),
    'state', json_build_object('code', s.code, 'name', s.name))
  FROM cities c JOIN states s ON s.code = c.state_code
  WHERE c.id = split_part(convert_from(decode(r.value->>'id', 'base64'), 'UTF8'), ':', 2)::integer
) ORDER BY r.number), '[]')))::text
FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS r(value, number)
"""


def entities_variables(scale: int) -> Variables:
    """500 city references by global ID, spread over the data set (its ids count from 1)."""
    keys = (1 + number * scale // 500 for number in range(500))
    return {
        "representations": [
            {"__typename": "City", "id": base64.b64encode(f"City:{key}".encode()).decode()}
            for key in keys
        ]
    }


ENTITIES = Query(
    name="entities-500",
    title="Federation: a gateway's 500 city references resolved by `_entities`",
    root_field="_entities",
    hub=ENTITIES_HUB,
    variables=entities_variables,
    floor=ENTITIES_FLOOR,
    floor_parameters=("representations",),
    not_comparable="PostGraphile is no federation subgraph: it has no `_entities`.",
)


MIX = (CITY, CITIES, FUNDER, STATISTICS, AGGREGATES, SEARCH, CITIES_ACTORS, ENTITIES)
