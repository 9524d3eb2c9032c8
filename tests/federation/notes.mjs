// A tiny subgraph that adds a field to every node of the hub at once: it declares the hub's
// entity interface `Node` (by `id`) an `@interfaceObject`, and never needs to know the hub's
// types. It composes only with a hub that declares `interface Node @key(fields: "id")`
// (HUB_FEDERATION_NODE_KEY). Composition only: it serves nothing.
import { parse } from "graphql";

export const typeDefs = parse(`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@interfaceObject"])

  type Node @key(fields: "id") @interfaceObject {
    id: ID!
    "A remark on the object, by this subgraph."
    remark: String
  }

  type Query {
    "The objects with a remark."
    remarked: [Node!]!
  }
`);
