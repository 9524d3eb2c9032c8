// A tiny second subgraph: events in the network's cities. It extends the hub's `City` (by its
// global ID, the hub's key `id`) with `events`, and references cities from its own `events`.
import { parse } from "graphql";
import { buildSubgraphSchema } from "@apollo/subgraph";

export const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type City @key(fields: "id") {
    id: ID!
    "Events in the city."
    events: [Event!]!
  }

  "An event in a city of the network."
  type Event {
    title: String!
    city: City!
  }

  type Query {
    "Upcoming events in the cities this subgraph was started with."
    events: [Event!]!
  }
`);

// Two events per city, named after the city's global ID.
function eventsIn(cityId) {
  return ["Ehrenamtsmesse", "Freiwilligentag"].map((title) => ({
    title: `${title} (${cityId})`,
    city: { id: cityId },
  }));
}

export function eventsSchema(cityIds) {
  return buildSubgraphSchema({
    typeDefs,
    resolvers: {
      Query: { events: () => cityIds.flatMap(eventsIn) },
      City: {
        __resolveReference: (city) => city,
        events: (city) => eventsIn(city.id),
      },
    },
  });
}
