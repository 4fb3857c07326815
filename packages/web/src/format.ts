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

/** US dollars with two significant digits below a dime: `$0.0012`, `$0.034`, `$1.25`, `$12,345.68`; an en dash for unknown (no price). */
export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return '–';
  if (usd === 0) return '$0';
  if (usd < 0) return `−${formatUsd(-usd)}`;
  if (usd < 0.01) return `$${usd.toPrecision(2)}`;
  // Rounded to a tenth of a cent, unless that makes a dime: `$0.10`, not `$0.100`.
  if (usd < 0.0995) return `$${usd.toFixed(3)}`;
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** Large counts in few characters, for chart labels: `950`, `12.3k`, `4.5M`, `1.2B`. */
export function formatCompact(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const size = Math.abs(value);
  for (const [scale, suffix] of [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    // 999,600 shows as `1M`, not `1000k`.
    if (size >= scale * 0.9995) {
      const scaled = value / scale;
      return `${Math.abs(scaled) >= 100 ? Math.round(scaled) : scaled.toFixed(1).replace(/\.0$/, '')}${suffix}`;
    }
  }
  return String(Math.round(value));
}

/** A UTC day `2026-11-22` as `Nov 22`; the text itself when it is no day. */
export function formatDay(day: string): string {
  const date = new Date(`${day}T00:00:00.000Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(date.getTime())) return day;
  return date.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/** Local date and time to the minute, `2026-11-22 14:03`, from an ISO time or ms since the epoch. */
export function formatDateTime(time: string | number): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return '–';
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Local clock time with seconds, `14:03:27`, from an ISO time or ms since the epoch. */
export function formatClock(time: string | number): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return '–';
  return date.toLocaleTimeString('en-GB', { hour12: false });
}

/** When something started, as a list shows it: the clock time today (`14:03:27`), else the date too (`Nov 21 14:03`). */
export function formatStart(time: string | number, now: number): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return '–';
  if (date.toDateString() === new Date(now).toDateString()) return formatClock(date.getTime());
  const day = date.toLocaleDateString('en-US', {
    month: 'short',
    day: 'numeric',
    ...(date.getFullYear() === new Date(now).getFullYear() ? {} : { year: 'numeric' }),
  });
  return `${day} ${formatClock(date.getTime()).slice(0, 5)}`;
}

/** The first characters of a long id, enough to tell sessions apart in a list. */
export function shortId(id: string): string {
  return id.length <= 12 ? id : `${id.slice(0, 8)}…`;
}

/** Stage ids as words: `streaming_response` → `streaming response`. */
export function stageLabel(stage: string | null): string {
  return stage === null ? 'starting' : stage.replace(/_/g, ' ');
}
