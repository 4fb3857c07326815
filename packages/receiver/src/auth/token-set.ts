/**
 * A set of bearer tokens (`ingest_tokens`, `read_tokens`): the ones listed in the config and, when a
 * file is named, the ones in it — one per line, `#` starts a comment — read again whenever the file
 * changes, so a token is added or revoked without a restart. A presented token is compared with
 * every token in constant time: the comparison takes as long whichever token (or none) matches and
 * whatever prefix the guess shares with one.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Stats } from 'node:fs';
import { LlmMonitorError } from '../errors.js';

/** How often a token file is checked for changes (fs.watchFile polls: it works on every file system and in containers). */
const FILE_POLL_MS = 1000;

/** Equal-length digests of a token, so `timingSafeEqual` can compare any two. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The tokens of a token file's text. */
export function parseTokenFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

/** The token of an `Authorization: Bearer <token>` header, or `undefined`. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Options of {@link TokenSet}. */
export interface TokenSetOptions {
  /** What the tokens are for, in messages: `ingest` or `read`. */
  readonly purpose: string;
  /** Tokens from the config (environment, flags, YAML). */
  readonly tokens: readonly string[];
  /** A file of further tokens, read again when it changes ('' = none). */
  readonly file: string;
  /** Told when the file was read again, or could not be (the tokens in force stay). */
  readonly onReload?: (outcome: { tokens: number } | { error: Error }) => void;
}

/** See the module comment. */
export class TokenSet {
  readonly #options: TokenSetOptions;
  #digests: Buffer[];
  #plain: string[];
  #listener: ((current: Stats, previous: Stats) => void) | undefined;

  /** Throws `LLMMON_ERR_CONFIG` when the file cannot be read at start. */
  constructor(options: TokenSetOptions) {
    this.#options = options;
    this.#plain = [...options.tokens, ...(options.file ? this.#readFile() : [])];
    this.#digests = this.#plain.map(digest);
  }

  /** True when at least one token is set: requests then need one. */
  get required(): boolean {
    return this.#digests.length > 0;
  }

  /** How many tokens are in force. */
  get size(): number {
    return this.#digests.length;
  }

  /** The tokens in force, for signing browser sessions. Never logged. */
  tokens(): readonly string[] {
    return this.#plain;
  }

  /** True when `presented` is one of the tokens; constant time over every token. */
  matches(presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const candidate = digest(presented);
    let found = false;
    for (const known of this.#digests) found = timingSafeEqual(candidate, known) || found;
    return found;
  }

  /** Starts watching the file (when one is named). */
  watch(): void {
    if (!this.#options.file || this.#listener) return;
    this.#listener = (current, previous) => {
      if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
      try {
        this.#plain = [...this.#options.tokens, ...this.#readFile()];
        this.#digests = this.#plain.map(digest);
        this.#options.onReload?.({ tokens: this.#digests.length });
      } catch (error) {
        this.#options.onReload?.({ error: error as Error });
      }
    };
    watchFile(this.#options.file, { interval: FILE_POLL_MS, persistent: false }, this.#listener);
  }

  /** Stops watching. */
  close(): void {
    if (this.#listener) unwatchFile(this.#options.file, this.#listener);
    this.#listener = undefined;
  }

  #readFile(): string[] {
    try {
      return parseTokenFile(readFileSync(this.#options.file, 'utf8'));
    } catch (error) {
      throw new LlmMonitorError(
        'LLMMON_ERR_CONFIG',
        `cannot read the ${this.#options.purpose} tokens file ${this.#options.file}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}
