import { describe, expect, it } from 'vitest';
import { Counter, Histogram } from 'prom-client';
import { createOpenMetricsRegistry, LabelLimiter, OTHER, prefersOpenMetrics, renderPrometheusText } from '../src/index.js';

describe('prefersOpenMetrics', () => {
  it('follows the Accept header qualities, defaulting to the classic format', () => {
    expect(prefersOpenMetrics(undefined)).toBe(false);
    expect(prefersOpenMetrics('*/*')).toBe(false);
    expect(prefersOpenMetrics('text/plain')).toBe(false);
    expect(prefersOpenMetrics('application/openmetrics-text')).toBe(true);
    // What Prometheus sends by default.
    expect(prefersOpenMetrics('application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2')).toBe(true);
    expect(prefersOpenMetrics('text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5')).toBe(false);
    expect(prefersOpenMetrics('application/openmetrics-text;q=0')).toBe(false);
  });
});

describe('renderPrometheusText', () => {
  it('renders an OpenMetrics registry in the classic format: counters keep _total, labels and help are escaped, no exemplars', async () => {
    const registry = createOpenMetricsRegistry();
    new Counter({ name: 'things_total', help: 'Things,\nwith a back\\slash.', labelNames: ['kind'], registers: [registry] }).inc({ kind: 'a "quoted"\nvalue\\' }, 2);
    const histogram = new Histogram({ name: 'wait_seconds', help: 'Waits.', buckets: [1], registers: [registry], enableExemplars: true });
    histogram.observe({ value: 0.5, exemplarLabels: { trace_id: 'abc' } });
    // An OpenMetrics rendering first renames counter families in place: the classic one must not care.
    expect(await registry.metrics()).toContain('# {trace_id="abc"} 0.5');
    const text = await renderPrometheusText(registry);
    expect(text).toBe(
      [
        '# HELP things_total Things,\\nwith a back\\\\slash.',
        '# TYPE things_total counter',
        'things_total{kind="a \\"quoted\\"\\nvalue\\\\"} 2',
        '',
        '# HELP wait_seconds Waits.',
        '# TYPE wait_seconds histogram',
        'wait_seconds_bucket{le="1"} 1',
        'wait_seconds_bucket{le="+Inf"} 1',
        'wait_seconds_sum 0.5',
        'wait_seconds_count 1',
        '',
      ].join('\n'),
    );
  });
});

describe('LabelLimiter', () => {
  it('keeps the first values of each label, folds later ones into "other" and reports each fold', () => {
    const overflows: string[] = [];
    const limiter = new LabelLimiter(2, (label) => overflows.push(label));
    expect(['a', 'b', 'a', 'c', 'd'].map((value) => limiter.value('model', value))).toEqual(['a', 'b', 'a', OTHER, OTHER]);
    expect(limiter.value('task', 'c')).toBe('c');
    expect(overflows).toEqual(['model', 'model']);
  });
});
