// Composes the hub's subgraph SDL (the file named by the second argument: its `_service { sdl }`)
// with other subgraphs into a supergraph, with the composition library named by the first
// argument: `apollo` (@apollo/composition) or `guild` (@theguild/federation-composition, which
// Hive Gateway and Hive's registry compose with). The other subgraphs are the events subgraph
// and a Relay-style reviews subgraph, or those `--subgraphs` names (comma-separated; `notes`
// extends every node of the hub).
//
// A third argument names a tag: the contract that includes only what carries it, as both
// libraries cut it (The Guild's tag filter marks everything else @inaccessible, as Apollo's
// contracts do; Apollo's composition library has none of its own, so it composes the
// subgraphs so filtered).
//
// Prints {"supergraph": <supergraph SDL>, "api": <the API schema's SDL>} as JSON; on any
// composition error prints the errors and exits with 1.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { composeServices as apolloCompose } from "@apollo/composition";
import {
  applyTagFilterOnSubgraphs,
  composeSchemaContract,
  composeServices as guildCompose,
} from "@theguild/federation-composition";
import { parse, printSchema } from "graphql";
import { typeDefs as eventsTypeDefs } from "./events.mjs";
import { typeDefs as notesTypeDefs } from "./notes.mjs";
import { typeDefs as reviewsTypeDefs } from "./reviews.mjs";

const subgraphs = { events: eventsTypeDefs, notes: notesTypeDefs, reviews: reviewsTypeDefs };
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { subgraphs: { type: "string", default: "events,reviews" } },
});
const [library, hubFile, tag] = positionals;
const services = [
  { name: "hub", url: "http://hub.invalid/graphql", typeDefs: parse(readFileSync(hubFile, "utf8")) },
  ...values.subgraphs.split(",").map((name) => ({
    name,
    url: `http://${name}.invalid/graphql`,
    typeDefs: subgraphs[name],
  })),
];
const contract = tag && { include: new Set([tag]), exclude: new Set() };

function composeWithApollo() {
  const result = apolloCompose(contract ? applyTagFilterOnSubgraphs(services, contract) : services);
  for (const hint of result.hints ?? []) {
    console.error(`hint: ${hint.toString()}`);
  }
  if (result.errors) {
    return { errors: result.errors };
  }
  const api = printSchema(result.schema.toAPISchema().toGraphQLJSSchema());
  return { supergraph: result.supergraphSdl, api };
}

function composeWithTheGuild() {
  const result = contract ? composeSchemaContract(services, contract) : guildCompose(services);
  if (result.errors) {
    return { errors: result.errors };
  }
  return { supergraph: result.supergraphSdl, api: result.publicSdl };
}

const composers = { apollo: composeWithApollo, guild: composeWithTheGuild };
const unknown = values.subgraphs.split(",").filter((name) => !(name in subgraphs));
if (!(library in composers) || !hubFile || unknown.length) {
  console.error(`usage: node compose.mjs apollo|guild HUB_SDL_FILE [TAG] [--subgraphs events,notes,reviews]`);
  process.exit(2);
}
const { errors, supergraph, api } = composers[library]();
if (errors) {
  for (const error of errors) {
    console.error(`error: ${error.message}`);
  }
  process.exit(1);
}
process.stdout.write(JSON.stringify({ supergraph, api }));
