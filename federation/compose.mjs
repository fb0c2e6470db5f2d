// Compose the supergraph from the subgraphs' SDL with a real Federation 2 composer.
//
//   node compose.mjs [--config supergraph.config.json] [--url NAME=URL]... [--schema NAME=FILE]... [--out FILE]
//
// The config lists {name, url, schema} per subgraph (schema: a file of SDL, relative to the config).
// --url and --schema override one subgraph's entry, so the same config serves docker-compose,
// a local run and the tests. Exits 1 and prints every composition error when composition fails.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';

const here = dirname(new URL(import.meta.url).pathname);
const { values } = parseArgs({
  options: {
    config: { type: 'string', default: resolve(here, 'supergraph.config.json') },
    url: { type: 'string', multiple: true, default: [] },
    schema: { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
  },
});

function pairs(list, flag) {
  return Object.fromEntries(list.map((item) => {
    const at = item.indexOf('=');
    if (at < 1) throw new Error(`--${flag} expects NAME=VALUE, got ${item}`);
    return [item.slice(0, at), item.slice(at + 1)];
  }));
}

const configPath = resolve(values.config);
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const urls = pairs(values.url, 'url');
const schemas = pairs(values.schema, 'schema');
for (const name of [...Object.keys(urls), ...Object.keys(schemas)]) {
  if (!config.subgraphs.some((s) => s.name === name)) throw new Error(`unknown subgraph ${name}`);
}

const services = config.subgraphs.map((subgraph) => {
  const file = schemas[subgraph.name] ?? resolve(dirname(configPath), subgraph.schema);
  return {
    name: subgraph.name,
    url: urls[subgraph.name] ?? subgraph.url,
    typeDefs: parse(readFileSync(file, 'utf8')),
  };
});

const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) console.error(`composition error: ${error.message}`);
  process.exit(1);
}
const sdl = result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`;
if (values.out) writeFileSync(values.out, sdl);
else process.stdout.write(sdl);
