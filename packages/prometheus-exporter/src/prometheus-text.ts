/**
 * The Prometheus text format (0.0.4), written from a registry's metrics. The registry itself is an
 * OpenMetrics one, because only those may carry exemplars; scrapers that ask for the classic format
 * get this rendering of the same metrics, without the exemplars.
 */
import type { MetricsRegistry } from './session-metrics.js';

/** Media type of the Prometheus text format. */
export const PROMETHEUS_TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Renders every metric of `registry` in the Prometheus text format. */
export async function renderPrometheusText(registry: MetricsRegistry): Promise<string> {
  const metrics = await registry.getMetricsAsJSON();
  const lines: string[] = [];
  for (const metric of metrics) {
    // prom-client declares the type a numeric enum; at run time it is the type's name.
    const type = String(metric.type);
    // In an OpenMetrics registry a counter's family name has no `_total`; its samples do. All our
    // counters (and prom-client's) are named with `_total`, so the classic name always carries it.
    const name = type === 'counter' && !metric.name.endsWith('_total') ? `${metric.name}_total` : metric.name;
    lines.push(`# HELP ${name} ${escapeHelp(metric.help)}`, `# TYPE ${name} ${type}`);
    for (const sample of metric.values) {
      const withName = sample as typeof sample & { metricName?: string };
      const labels = Object.entries(sample.labels)
        .filter(([, value]) => value !== undefined)
        .map(([label, value]) => `${label}="${escapeLabelValue(String(value))}"`);
      lines.push(`${withName.metricName ?? name}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${formatValue(sample.value)}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
