// A Relay-style subgraph, as partners write them: reviews of the network's cities, paginated
// by a connection with its own `PageInfo` (shareable, as Relay's value types must be in a
// supergraph) and its own `Node` interface. Composition only: it serves nothing.
import { parse } from "graphql";

export const typeDefs = parse(`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])

  interface Node {
    id: ID!
  }

  type PageInfo @shareable {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type City @key(fields: "id", resolvable: false) {
    id: ID!
  }

  "A review of a city's engagement."
  type Review implements Node @key(fields: "id") {
    id: ID!
    text: String!
    city: City!
  }

  type ReviewEdge {
    cursor: String!
    node: Review!
  }

  type ReviewConnection {
    edges: [ReviewEdge!]!
    pageInfo: PageInfo!
  }

  type Query {
    "Reviews, the newest first."
    reviews(first: Int, after: String): ReviewConnection!
  }
`);
