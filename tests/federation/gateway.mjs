// An Apollo Gateway over the hub (its URL is the first argument) and the events subgraph,
// which it serves itself for the cities whose global IDs follow. With `--notes=ID,ID,...` it
// serves the notes subgraph too, which adds `remark` to every node and lists those nodes (the
// hub must declare `Node` an entity interface, HUB_FEDERATION_NODE_KEY). The gateway composes
// the supergraph from the subgraphs' `_service { sdl }` as it starts, then prints its URL as a
// line of JSON, `{"gateway": "http://..."}`, and serves until it is stopped.
// With HUB_GATEWAY_SECRET set it runs as a production gateway does in front of an
// allowlist-mode hub: it sends the secret in `Hub-Gateway-Secret` with every request to the hub,
// forwards the client's `Authorization`, and adds the client's address to `X-Forwarded-For`.
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from "@apollo/gateway";
import { parseArgs } from "node:util";
import { eventsSchema } from "./events.mjs";
import { notesSchema } from "./notes.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { notes: { type: "string" } },
});
const [hubUrl, ...cityIds] = positionals;
const listen = { host: "127.0.0.1", port: 0 };
// Logs go to stderr: stdout carries the gateway's URL only.
const logger = { debug() {}, info: console.error, warn: console.error, error: console.error };

const events = new ApolloServer({ schema: eventsSchema(cityIds), logger });
const { url: eventsUrl } = await startStandaloneServer(events, { listen });
const others = [{ name: "events", url: eventsUrl }];
if (values.notes !== undefined) {
  const notes = new ApolloServer({ schema: notesSchema(values.notes.split(",")), logger });
  others.push({ name: "notes", url: (await startStandaloneServer(notes, { listen })).url });
}

const secret = process.env.HUB_GATEWAY_SECRET;
const secretHeaders = secret ? { "Hub-Gateway-Secret": secret } : {};

// What a client's request brings along to the subgraphs: its credential and its address.
function clientOf({ req }) {
  const forwarded = req.headers["x-forwarded-for"];
  const address = req.socket.remoteAddress;
  return {
    authorization: req.headers.authorization,
    forwardedFor: forwarded ? `${forwarded}, ${address}` : address,
  };
}

class HubDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    for (const [name, value] of Object.entries(secretHeaders)) {
      request.http.headers.set(name, value);
    }
    if (context.authorization) {
      request.http.headers.set("Authorization", context.authorization);
    }
    if (context.forwardedFor) {
      request.http.headers.set("X-Forwarded-For", context.forwardedFor);
    }
  }
}

const gateway = new ApolloGateway({
  logger,
  supergraphSdl: new IntrospectAndCompose({
    subgraphs: [{ name: "hub", url: hubUrl }, ...others],
    // The secret is the hub's: the other subgraphs never see it.
    introspectionHeaders: ({ name }) => (name === "hub" ? secretHeaders : {}),
  }),
  buildService: ({ name, url }) =>
    name === "hub" ? new HubDataSource({ url }) : new RemoteGraphQLDataSource({ url }),
});
const server = new ApolloServer({ gateway, logger });
const { url } = await startStandaloneServer(server, { listen, context: clientOf });
console.log(JSON.stringify({ gateway: url }));
