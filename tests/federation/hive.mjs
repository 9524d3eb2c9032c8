// Hive Gateway (its runtime, as the `hive-gateway` command serves it) over the hub, whose URL is
// the first argument, and the events subgraph, which it serves itself for the cities whose
// global IDs follow the port it listens on (the second argument). It composes the supergraph
// from both subgraphs' SDL with The Guild's composition library, as Hive's registry and
// `hive dev` do, and serves it in Hive Gateway's default configuration: subscriptions reach the
// hub over SSE (GraphQL over SSE), with the client's `Authorization` forwarded, and `@defer` and
// `@stream` on (`deferStream`). It logs to stderr and serves until it is stopped; it is ready
// when `/readiness` answers.
import { createServer } from "node:http";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { createGatewayRuntime } from "@graphql-hive/gateway-runtime";
import { composeServices } from "@theguild/federation-composition";
import { parse } from "graphql";
import { eventsSchema, typeDefs as eventsTypeDefs } from "./events.mjs";

const [hubUrl, port, ...cityIds] = process.argv.slice(2);
const logger = { debug() {}, info() {}, warn: console.error, error: console.error };

async function hubSdl() {
  const response = await fetch(hubUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
  });
  const { data } = await response.json();
  return parse(data._service.sdl);
}

const events = new ApolloServer({ schema: eventsSchema(cityIds), logger });
const { url: eventsUrl } = await startStandaloneServer(events, {
  listen: { host: "127.0.0.1", port: 0 },
});
const composed = composeServices([
  { name: "hub", url: hubUrl, typeDefs: await hubSdl() },
  { name: "events", url: eventsUrl, typeDefs: eventsTypeDefs },
]);
if (composed.errors) {
  for (const error of composed.errors) {
    console.error(`error: ${error.message}`);
  }
  process.exit(1);
}

const gateway = createGatewayRuntime({
  supergraph: composed.supergraphSdl,
  deferStream: true,
  propagateHeaders: {
    fromClientToSubgraphs: ({ request, subgraphName }) =>
      subgraphName === "hub" ? { authorization: request.headers.get("authorization") } : {},
  },
  logging: "warn",
});
// The runtime catches SIGINT and SIGTERM to dispose of itself, after which Node no longer ends
// on them (the server stays open): end here, as the `hive-gateway` command does.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => process.exit(0));
}
createServer(gateway).listen(Number(port), "127.0.0.1", () => {
  console.error(`Hive Gateway over ${hubUrl} and ${eventsUrl} on http://127.0.0.1:${port}/graphql`);
});
