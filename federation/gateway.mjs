// The federation gateway: Hive Gateway's runtime over a composed supergraph, on plain node:http.
//
//   SUPERGRAPH=supergraph.graphql HOST=127.0.0.1 PORT=4000 node gateway.mjs
//
// PORT=0 picks a free port. When listening, prints one JSON line {"event":"gateway.listening","url":...}
// on stdout. The caller's Authorization, X-Request-ID and trace context headers go to every subgraph:
// the hub authenticates and scopes each subgraph request itself; the gateway holds no credentials.
// Health: GET /healthcheck (process up) and /readiness (supergraph loaded).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { parse } from 'graphql';

const FORWARDED = ['authorization', 'x-request-id', 'traceparent', 'tracestate'];
const supergraphPath = process.env.SUPERGRAPH ?? new URL('supergraph.graphql', import.meta.url).pathname;
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 4000);

const gateway = createGatewayRuntime({
  supergraph: parse(readFileSync(supergraphPath, 'utf8')),
  graphiql: false,
  landingPage: false,
  logging: process.env.LOG_LEVEL ?? 'warn',
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      const headers = {};
      for (const name of FORWARDED) {
        const value = request.headers.get(name);
        if (value) headers[name] = value;
      }
      return headers;
    },
  },
});

const server = createServer(gateway);
server.listen(port, host, () => {
  const { address, port: bound } = server.address();
  console.log(JSON.stringify({ event: 'gateway.listening', url: `http://${address}:${bound}/graphql` }));
});

async function stop() {
  server.close();
  await gateway[Symbol.asyncDispose]();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
