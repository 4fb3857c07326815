/**
 * How the session page says which of the receiver's limits cut a session (its `limits_hit`). Pure,
 * so it is tested in Node.
 */
import type { LimitHit, LimitItem } from '@llm-monitor/sessions';
import { formatCount } from './format.js';

/** What each item reads as, one and many. */
const ITEM_TEXT: Readonly<Record<LimitItem, readonly [string, string]>> = {
  span: ['span refused', 'spans refused'],
  step: ['step left out', 'steps left out'],
  event: ['event dropped', 'events dropped'],
  token_text: ['token text cut', 'token texts cut'],
  attribute: ['attribute dropped', 'attributes dropped'],
  string: ['text shortened', 'texts shortened'],
};

/**
 * `12 token texts cut, 3 events dropped over max_trace_bytes; 40 spans refused over
 * max_spans_per_trace`: the hits by limit, in the order the session lists them; `''` when none (or
 * a receiver too old to say). Names a newer receiver may add are shown as they are.
 */
export function limitsHitText(hits: readonly LimitHit[] | undefined): string {
  if (!hits?.length) return '';
  const byLimit = new Map<string, string[]>();
  for (const hit of hits) {
    const [one, many] = ITEM_TEXT[hit.item] ?? [String(hit.item), String(hit.item)];
    const parts = byLimit.get(hit.limit) ?? [];
    parts.push(`${formatCount(hit.count)} ${hit.count === 1 ? one : many}`);
    byLimit.set(hit.limit, parts);
  }
  return [...byLimit].map(([limit, parts]) => `${parts.join(', ')} over ${limit}`).join('; ');
}
