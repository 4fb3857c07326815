/** How the page prints durations, counts, rates, money and times. Pure, so it is tested in Node. */

/** `850 ms`, `4.2 s`, `2 min 05 s`; an en dash for unknown. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
}

/** `12,345`; an en dash for unknown. */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return Math.round(value).toLocaleString('en-US');
}

/** `97.5%` from a 0–1 share; an en dash for unknown. */
export function formatShare(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '–';
  return `${(share * 100).toFixed(share === 1 ? 0 : 1)}%`;
}

/** `12.5/s`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–';
  return `${perSecond >= 100 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`;
}

/** US dollars with enough digits for fractions of a cent: `$0.0012`, `$1.25`. */
export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return '–';
  if (usd === 0) return '$0';
  if (usd < 0.01) return `$${usd.toPrecision(2)}`;
  return `$${usd.toFixed(2)}`;
}

/** Local clock time with seconds, `14:03:27`, from an ISO time or ms since the epoch. */
export function formatClock(time: string | number): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return '–';
  return date.toLocaleTimeString('en-GB', { hour12: false });
}

/** The first characters of a long id, enough to tell sessions apart in a list. */
export function shortId(id: string): string {
  return id.length <= 12 ? id : `${id.slice(0, 8)}…`;
}

/** Stage ids as words: `streaming_response` → `streaming response`. */
export function stageLabel(stage: string | null): string {
  return stage === null ? 'starting' : stage.replace(/_/g, ' ');
}
