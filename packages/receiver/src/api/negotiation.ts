/**
 * Content negotiation by `Accept`, for every route that answers one URL in more than one form (`/`:
 * the page or the API index; the lists: a JSON page or a CSV download). It is `negotiator`'s
 * algorithm (the one behind express's and @fastify/accepts' `accepts`), not a parser of our own:
 * q-values, wildcards, the most specific range winning over a broader one, then the client's order.
 */
import Negotiator from 'negotiator';

/** The web page, as it is sent. */
export const HTML = 'text/html; charset=utf-8';

/** JSON answers, as fastify sends them. */
export const JSON_MEDIA_TYPE = 'application/json; charset=utf-8';

/**
 * A CSV export. It always starts with a header row, so `header=present` (RFC 4180) is offered too:
 * a client asking for `text/csv; header=present` gets it, one asking for `header=absent` does not.
 */
export const CSV = 'text/csv; charset=utf-8; header=present';

/**
 * Longest `Accept` read; a longer one counts as absent. Browsers send about 150 characters and
 * Prometheus about 300, while negotiator's work grows with ranges times offers: a 16 KB header of
 * wildcards took it 5 ms here with two offers (43 ms with the exporter's eight), this cap keeps it
 * under 0.3 ms.
 */
export const MAX_ACCEPT_LENGTH = 1024;

/**
 * The offer a request's `Accept` prefers; the first offer when it accepts none of them (RFC 9110
 * lets a server answer in its default form rather than 406, and no client of ours is helped by a
 * 406) or when the header is longer than {@link MAX_ACCEPT_LENGTH}.
 *
 * Offers are full media types with every parameter the answer satisfies: negotiator matches a range
 * only when each of its parameters (other than `q`) is on the offer, so `application/json;
 * charset=utf-8` in an `Accept` matches {@link JSON_MEDIA_TYPE}, where a bare `application/json`
 * offer would not match it. Put the server's preference first: it answers a missing `Accept`, a
 * wildcard, and any range that several offers match alike.
 */
export function preferredMediaType<T extends string>(accept: string | undefined, offers: readonly [T, ...T[]]): T {
  // Without the header negotiator reads it as a wildcard, as RFC 9110 says.
  const read = accept === undefined || accept.length > MAX_ACCEPT_LENGTH ? {} : { accept };
  const preferred = new Negotiator({ headers: read }).mediaType(offers) as T | undefined;
  return preferred ?? offers[0];
}
