// An Apollo Gateway over the hub (its URL is the first argument) and the events subgraph,
// which it serves itself for the cities whose global IDs follow. The gateway composes the
// supergraph from both subgraphs' `_service { sdl }` as it starts, then prints its URL as a
// line of JSON, `{"gateway": "http://..."}`, and serves until it is stopped.
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloGateway, IntrospectAndCompose } from "@apollo/gateway";
import { eventsSchema } from "./events.mjs";

const [hubUrl, ...cityIds] = process.argv.slice(2);
const listen = { host: "127.0.0.1", port: 0 };
// Logs go to stderr: stdout carries the gateway's URL only.
const logger = { debug() {}, info: console.error, warn: console.error, error: console.error };

const events = new ApolloServer({ schema: eventsSchema(cityIds), logger });
const { url: eventsUrl } = await startStandaloneServer(events, { listen });

const gateway = new ApolloGateway({
  logger,
  supergraphSdl: new IntrospectAndCompose({
    subgraphs: [
      { name: "hub", url: hubUrl },
      { name: "events", url: eventsUrl },
    ],
  }),
});
const server = new ApolloServer({ gateway, logger });
const { url } = await startStandaloneServer(server, { listen });
console.log(JSON.stringify({ gateway: url }));
