/** Numbers as a Grafana panel with the same unit would print them, for the preview pictures. */

function significant(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1).replace(/\.0$/, '');
  if (magnitude >= 0.01) return value.toFixed(2).replace(/\.?0+$/, '');
  return value.toPrecision(2);
}

function scaled(value: number, base: number, suffixes: readonly string[]): string {
  let index = 0;
  let rest = value;
  while (Math.abs(rest) >= base && index < suffixes.length - 1) {
    rest /= base;
    index += 1;
  }
  return `${significant(rest)}${suffixes[index]}`;
}

function seconds(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude === 0) return '0 s';
  if (magnitude < 1e-3) return `${significant(value * 1e6)} µs`;
  if (magnitude < 1) return `${significant(value * 1e3)} ms`;
  if (magnitude < 120) return `${significant(value)} s`;
  return `${significant(value / 60)} min`;
}

/**
 * Formats `value` for the Grafana unit id `unit` (the ones our dashboards use: reqps, ops,
 * percentunit, s, bytes, currencyUSD, short); unknown units print as short numbers.
 */
export function formatValue(value: number, unit: string | undefined): string {
  if (!Number.isFinite(value)) return '–';
  switch (unit) {
    case 'reqps':
      return `${scaled(value, 1000, ['', 'K', 'M', 'G'])} req/s`;
    case 'ops':
      return `${scaled(value, 1000, ['', 'K', 'M', 'G'])} ops/s`;
    case 'percentunit':
      return `${significant(value * 100)}%`;
    case 's':
      return seconds(value);
    case 'bytes':
      return scaled(value, 1024, [' B', ' KiB', ' MiB', ' GiB', ' TiB']);
    case 'currencyUSD':
      return `$${significant(value)}`;
    default:
      return scaled(value, 1000, ['', 'K', 'M', 'G', 'T']);
  }
}
