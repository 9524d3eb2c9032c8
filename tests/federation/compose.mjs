// Composes the hub's subgraph SDL (the file named by the first argument: its `_service { sdl }`)
// with the events subgraph into a supergraph, with Apollo's composition library. Prints the
// supergraph SDL; on any composition error prints the errors and exits with 1.
import { readFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { typeDefs as eventsTypeDefs } from "./events.mjs";

const hubSdl = readFileSync(process.argv[2], "utf8");
const result = composeServices([
  { name: "hub", url: "http://hub.invalid/graphql", typeDefs: parse(hubSdl) },
  { name: "events", url: "http://events.invalid/graphql", typeDefs: eventsTypeDefs },
]);
for (const hint of result.hints ?? []) {
  console.error(`hint: ${hint.toString()}`);
}
if (result.errors) {
  for (const error of result.errors) {
    console.error(`error: ${error.message}`);
  }
  process.exit(1);
}
process.stdout.write(result.supergraphSdl);
