/**
 * External services some suites need (PostgreSQL, Redis), found from the environment. The rule is
 * the one of `tools.ts`: under CI (`CI=true`) the service must be there, so its absence fails the
 * run with a message saying what is missing; elsewhere the helper returns `undefined` and the suite
 * skips what needs it, saying so. No client library: a TCP connect (and, for PostgreSQL, its
 * protocol's SSLRequest, so another program on the port is not taken for it).
 */
import { connect } from 'node:net';

/** `DATABASE_URL`'s default: a local PostgreSQL with a `test` database. */
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** `REDIS_URL`'s default. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const CONNECT_TIMEOUT_MS = 2000;

/** The URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * Opens a TCP connection to the URL's host and port, writes `hello` if given, and resolves with the
 * first bytes answered (an empty buffer when nothing is written). Rejects on refusal or timeout.
 */
function probe(url: string, defaultPort: number, hello?: Buffer): Promise<Buffer> {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = parsed.port === '' ? defaultPort : Number(parsed.port);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
    const done = (error: Error | undefined, answer?: Buffer): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(answer ?? Buffer.alloc(0));
    };
    socket.once('error', (error) => done(error));
    socket.once('connect', () => {
      if (!hello) {
        done(undefined);
        return;
      }
      socket.once('data', (data: Buffer) => done(undefined, data));
      socket.once('end', () => done(new Error(`${host}:${port} closed the connection without answering`)));
      socket.write(hello);
    });
  });
}

/** Under CI a missing service fails the run; elsewhere the caller skips `skipping`, and this says so. */
function unavailable(service: string, variable: string, url: string, error: unknown, skipping: string): undefined {
  const reason = `${service} is not reachable at ${redacted(url)} (${variable}): ${(error as Error).message}`;
  if (process.env.CI === 'true')
    throw new Error(`${reason}; under CI=true the service must run (a missing service is a failure, not a skip)`);
  console.warn(`skipping ${skipping}: ${reason}`);
  return undefined;
}

/**
 * The PostgreSQL URL the tests may use (`DATABASE_URL`, default {@link DEFAULT_POSTGRES_URL}), or
 * `undefined` — after a warning that `skipping` is skipped, and why — when nothing answers there as
 * PostgreSQL. Throws under `CI=true` instead of returning `undefined`.
 */
export async function postgresUrl(skipping = 'the tests that need PostgreSQL'): Promise<string | undefined> {
  const url = process.env.DATABASE_URL || DEFAULT_POSTGRES_URL;
  try {
    // SSLRequest: length 8, code 80877103. A PostgreSQL server answers one byte, 'S' or 'N'.
    const answer = await probe(url, 5432, Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
    const first = String.fromCharCode(answer[0] ?? 0);
    if (first !== 'S' && first !== 'N')
      throw new Error(`the server there does not speak PostgreSQL's protocol (answered 0x${(answer[0] ?? 0).toString(16)})`);
    return url;
  } catch (error) {
    return unavailable('PostgreSQL', 'DATABASE_URL', url, error, skipping);
  }
}

/**
 * The Redis URL the tests may use (`REDIS_URL`, default {@link DEFAULT_REDIS_URL}), or `undefined`
 * — after a warning that `skipping` is skipped, and why — when nothing accepts a TCP connection
 * there. Throws under `CI=true` instead of returning `undefined`.
 */
export async function redisUrl(skipping = 'the tests that need Redis'): Promise<string | undefined> {
  const url = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  try {
    await probe(url, 6379);
    return url;
  } catch (error) {
    return unavailable('Redis', 'REDIS_URL', url, error, skipping);
  }
}

/**
 * `url` with PostgreSQL's `options` parameter setting `search_path` to `schema`, so a client (pg
 * reads `options` from the connection string and sends it in the startup message) works in that
 * schema only: each test run gets a schema of its own.
 */
export function withSearchPath(url: string, schema: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`not a plain schema name: ${schema}`);
  const parsed = new URL(url);
  parsed.searchParams.delete('options');
  const rest = parsed.search.replace(/^\?/, '');
  // Spelled out rather than through URLSearchParams, which would write the space as '+'.
  parsed.search = `${rest ? `${rest}&` : ''}options=-c%20search_path%3D${schema}`;
  return parsed.toString();
}
