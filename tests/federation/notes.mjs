// A tiny subgraph that adds a field to every node of the hub at once: it declares the hub's
// entity interface `Node` (by `id`) an `@interfaceObject`, and never needs to know the hub's
// types. It composes only with a hub that declares `interface Node @key(fields: "id")`
// (HUB_FEDERATION_NODE_KEY).
import { parse } from "graphql";
import { buildSubgraphSchema } from "@apollo/subgraph";

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

// A remark on any node, named after its global ID; `remarked` lists the nodes of `nodeIds`.
export function notesSchema(nodeIds) {
  const remarkOn = (node) => `Remark on ${node.id}`;
  return buildSubgraphSchema({
    typeDefs,
    resolvers: {
      Query: { remarked: () => nodeIds.map((id) => ({ id })) },
      Node: { __resolveReference: (node) => node, remark: remarkOn },
    },
  });
}
