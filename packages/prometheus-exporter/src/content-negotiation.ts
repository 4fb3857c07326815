/**
 * Which exposition format a scraper asked for, by `negotiator` (the receiver negotiates with the
 * same library; this package cannot import the receiver, so it holds its own offers).
 *
 * negotiator matches an `Accept` range only when every parameter it names is on the offer, and
 * Prometheus names them: 3.x sends
 * `application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3`
 * and a wildcard at q=0.2. A bare `application/openmetrics-text` offer would match none of those
 * ranges but the wildcard, and lose the tie to the classic format. So each format is offered as
 * every media type our output truly is, with all the parameters it satisfies.
 */
import Negotiator from 'negotiator';

/**
 * The escapings (Prometheus 3 names one on the 1.0.0 formats) that leave our names as they are:
 * prom-client takes only legacy names (`[a-zA-Z_:][a-zA-Z0-9_:]*`), which `allow-utf-8`,
 * `underscores` and `values` keep unchanged. `dots` would double their underscores: not offered.
 */
const UNCHANGED_BY_ESCAPING = ['allow-utf-8', 'underscores', 'values'];

/** `type` at `version` in UTF-8, and at `escapedVersion` once per escaping it satisfies. */
function offers(type: string, version: string, escapedVersion: string): string[] {
  return [
    `${type}; version=${version}; charset=utf-8`,
    ...UNCHANGED_BY_ESCAPING.map((escaping) => `${type}; version=${escapedVersion}; charset=utf-8; escaping=${escaping}`),
  ];
}

/** The classic text format: 0.0.4, which is also 1.0.0 for names that need no quoting. */
const CLASSIC = offers('text/plain', '0.0.4', '1.0.0');

/** OpenMetrics as prom-client writes it (1.0.0); Prometheus reads 0.0.1 with the same parser. */
const OPEN_METRICS = new Set(offers('application/openmetrics-text', '0.0.1', '1.0.0'));

/**
 * Classic first: negotiator ranks by q, then by how specific the matching range is, then by the
 * client's order, and only then by ours, so this decides a missing `Accept` and a wildcard, which
 * get the classic format as from Prometheus's own client libraries.
 */
const OFFERS = [...CLASSIC, ...OPEN_METRICS];

/**
 * Longest `Accept` read; a longer one gets the classic format. Prometheus sends about 300
 * characters, while negotiator's work grows with ranges times offers: a 16 KB header of wildcards
 * held the event loop 43 ms here against these eight offers, and 2 ms at this cap.
 */
const MAX_ACCEPT_LENGTH = 1024;

/**
 * True when the scraper prefers OpenMetrics to the classic text format (as Prometheus does by
 * default); everyone else, browsers and curl included, gets the classic format.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (!accept || accept.length > MAX_ACCEPT_LENGTH) return false;
  const preferred = new Negotiator({ headers: { accept } }).mediaType(OFFERS);
  return preferred !== undefined && OPEN_METRICS.has(preferred);
}
