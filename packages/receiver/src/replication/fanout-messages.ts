/**
 * The messages replicas exchange over Redis pub/sub, and their bytes. A message is JSON; one larger
 * than {@link COMPRESS_FROM_BYTES} is deflated (a running session with streamed text is mostly
 * repetitive JSON: deflate at level 1 takes it to a fifth for a few hundred microseconds). What
 * arrives is checked before it is used: a message is data from another process, never control.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { ProcessingSession } from '@llm-monitor/sessions';

/** Version of the message format; a replica ignores messages of another version (and says so once). */
export const FANOUT_FORMAT = 1;

/** Messages from this size on are deflated. */
export const COMPRESS_FROM_BYTES = 8 * 1024;

/** Largest message accepted once inflated: a bound on what one message may make this process hold. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Sessions per message when a replica sends many at once (a sync): keeps each message a few MB at most. */
export const SESSIONS_PER_MESSAGE = 200;

/** What a replica says. */
export type FanoutMessage =
  /** Session changes since the last message: renames first, then sessions as they stand, then removals. */
  | { kind: 'changes'; sessions: ProcessingSession[]; removed: string[]; renamed: [string, string][] }
  /** "I am here" when nothing else was said for a while; `sessions` is how many it holds. */
  | { kind: 'heartbeat'; sessions: number }
  /** "I missed what was said since `since_ms`": every replica answers with its sessions changed since then. */
  | { kind: 'sync_request'; since_ms: number }
  /** "I am stopping": others let go of its sessions (its running ones are in the shared store). */
  | { kind: 'leaving' };

/** A message with who sent it. */
export type Envelope = FanoutMessage & {
  v: number;
  /** The sender's replica id. */
  replica: string;
  /** The sender process's own random id: two processes under one replica id can still tell each other apart. */
  instance: string;
  /** The sender's message counter. */
  seq: number;
};

const DEFLATED = 0;

/** The bytes of a message. */
export function encodeEnvelope(envelope: Envelope): Buffer {
  const json = Buffer.from(JSON.stringify(envelope));
  if (json.length < COMPRESS_FROM_BYTES) return json;
  const deflated = deflateRawSync(json, { level: 1 });
  const framed = Buffer.allocUnsafe(deflated.length + 1);
  framed[0] = DEFLATED;
  deflated.copy(framed, 1);
  return framed;
}

/** Why a message was not used. */
export class FanoutMessageError extends Error {}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

const STATUSES = new Set(['active', 'completed', 'failed', 'abandoned']);

/**
 * True when a value has the session fields the live streams, filters and statistics read with their
 * types. The sender built it with the same code; this stops a foreign or corrupted publisher on the
 * channel from throwing inside the hub, not a determined liar.
 */
function isSessionLike(value: unknown): value is ProcessingSession {
  if (typeof value !== 'object' || value === null) return false;
  const session = value as Record<string, unknown>;
  const counts = session.token_counts as Record<string, unknown> | undefined;
  return (
    typeof session.session_id === 'string' &&
    typeof session.trace_id === 'string' &&
    typeof session.status === 'string' &&
    STATUSES.has(session.status) &&
    typeof session.start_time === 'string' &&
    Array.isArray(session.stages) &&
    Array.isArray(session.steps) &&
    Array.isArray(session.llm_calls) &&
    Array.isArray(session.events) &&
    typeof counts === 'object' &&
    counts !== null &&
    typeof counts.streamed === 'number' &&
    typeof session.metadata === 'object' &&
    session.metadata !== null
  );
}

/** Reads a message; throws {@link FanoutMessageError} naming what is wrong. */
export function decodeEnvelope(bytes: Buffer): Envelope {
  let json: Buffer;
  if (bytes[0] === DEFLATED) {
    try {
      json = inflateRawSync(bytes.subarray(1), { maxOutputLength: MAX_MESSAGE_BYTES });
    } catch (error) {
      throw new FanoutMessageError(`cannot inflate: ${(error as Error).message}`);
    }
  } else {
    json = bytes;
  }
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new FanoutMessageError(`not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null) throw new FanoutMessageError('not an object');
  const envelope = value as Record<string, unknown>;
  if (envelope.v !== FANOUT_FORMAT) throw new FanoutMessageError(`format ${String(envelope.v)}, expected ${FANOUT_FORMAT}`);
  if (typeof envelope.replica !== 'string' || typeof envelope.instance !== 'string' || typeof envelope.seq !== 'number')
    throw new FanoutMessageError('no replica, instance or seq');
  switch (envelope.kind) {
    case 'changes':
      if (!Array.isArray(envelope.sessions) || !envelope.sessions.every(isSessionLike)) throw new FanoutMessageError('malformed sessions');
      if (!isStringArray(envelope.removed)) throw new FanoutMessageError('malformed removed');
      if (!Array.isArray(envelope.renamed) || !envelope.renamed.every((pair) => isStringArray(pair) && pair.length === 2))
        throw new FanoutMessageError('malformed renamed');
      break;
    case 'heartbeat':
      if (typeof envelope.sessions !== 'number') throw new FanoutMessageError('malformed heartbeat');
      break;
    case 'sync_request':
      if (typeof envelope.since_ms !== 'number' || !Number.isFinite(envelope.since_ms))
        throw new FanoutMessageError('malformed sync_request');
      break;
    case 'leaving':
      break;
    default:
      throw new FanoutMessageError(`unknown kind ${JSON.stringify(envelope.kind)}`);
  }
  return envelope as unknown as Envelope;
}
