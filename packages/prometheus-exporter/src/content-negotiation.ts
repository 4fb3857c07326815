/** Which exposition format a scraper asked for. */

/** Quality an Accept header gives a media type (0 when absent), ignoring wildcards. */
function qualityOf(accept: string, mediaType: string): number {
  let best = 0;
  for (const part of accept.split(',')) {
    const [type, ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    if (type !== mediaType) continue;
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    best = Math.max(best, q === undefined ? 1 : Number(q.slice(2)) || 0);
  }
  return best;
}

/**
 * True when the scraper asks for OpenMetrics at least as much as for the classic text format (as
 * Prometheus does by default); everyone else, browsers and curl included, gets the classic format.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  const openMetrics = qualityOf(accept, 'application/openmetrics-text');
  return openMetrics > 0 && openMetrics >= qualityOf(accept, 'text/plain');
}
