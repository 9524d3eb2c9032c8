// PostGraphile 5 with the amber preset over the bench database, configured for production:
// no GraphiQL, no explain, no watch mode; with the generated CRUD mutations, of which the
// portal run's office writes with `updateCityBySlug` (the update mutations' payloads take
// their field names from the create plugin: both are on).
//
// Environment: DATABASE_URL (required), HOST (127.0.0.1), PORT (5678), WORKERS (1; forked with
// node:cluster, sharing the port like uvicorn's workers), POOL_SIZE (15 per worker, the hub's
// SQLAlchemy pool of 5 plus 10 overflow), COUNT_STATEMENTS (1 adds GET /bench/statements, which
// answers the SQL statements run since the last call; off for timed runs).
import cluster from "node:cluster";
import { createServer } from "node:http";

import pg from "pg";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const HOST = process.env.HOST ?? "127.0.0.1";
const PORT = Number(process.env.PORT ?? 5678);
const WORKERS = Number(process.env.WORKERS ?? 1);
const POOL_SIZE = Number(process.env.POOL_SIZE ?? 15);
const COUNT_STATEMENTS = process.env.COUNT_STATEMENTS === "1";
// Transaction control is not a statement of the query's own (the hub's count leaves it out too).
const TRANSACTION_CONTROL = /^\s*(begin|commit|rollback|savepoint|release)\b/i;

let statements = 0;

/** A pg pool whose clients count the statements they run when COUNT_STATEMENTS is set. */
function makePool() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: POOL_SIZE });
  if (COUNT_STATEMENTS) {
    pool.on("connect", (client) => {
      const query = client.query.bind(client);
      client.query = (config, ...rest) => {
        const text = typeof config === "string" ? config : config?.text ?? "";
        if (!TRANSACTION_CONTROL.test(text)) statements += 1;
        return query(config, ...rest);
      };
    });
  }
  return pool;
}

const preset = {
  extends: [PostGraphileAmberPreset],
  // Without the index behaviours every column can order a list, as the hub orders by unindexed
  // columns too (fundings by start date); it changes the schema, not how a query runs.
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [makePgService({ pool: makePool(), schemas: ["public"] })],
  grafserv: { host: HOST, port: PORT, graphiql: false, graphiqlOnGraphQLGET: false, watch: false },
  grafast: { explain: false },
};

/** Serve GraphQL at /graphql (and the statement counter when asked for). */
async function serve() {
  const serv = postgraphile(preset).createServ(grafserv);
  const handle = serv.createHandler();
  const server = createServer((req, res) => {
    if (COUNT_STATEMENTS && req.url === "/bench/statements") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ statements }));
      statements = 0;
      return;
    }
    handle(req, res);
  });
  await serv.ready();
  server.listen(PORT, HOST);
}

if (WORKERS > 1 && cluster.isPrimary) {
  for (let worker = 0; worker < WORKERS; worker += 1) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
} else {
  serve().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
