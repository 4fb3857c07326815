/**
 * The idle scenario's baseline: the least a Fastify server is — one route, listening on a free port
 * of 127.0.0.1 — started the way `llm-monitor` is (a Node process), printing `ready <url>` once it
 * listens. Fastify is the receiver's own, resolved from its package.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const receiverPackage = fileURLToPath(new URL('../../packages/receiver/package.json', import.meta.url));
const { default: Fastify } = await import(pathToFileURL(createRequire(receiverPackage).resolve('fastify')).href);
const app = Fastify();
app.get('/healthz', async () => ({ status: 'ok' }));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`ready ${url}\n`);
