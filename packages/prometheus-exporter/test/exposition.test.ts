import { describe, expect, it } from 'vitest';
import { Counter, Histogram } from 'prom-client';
import { createOpenMetricsRegistry, LabelLimiter, OTHER, prefersOpenMetrics, renderPrometheusText } from '../src/index.js';

/** The Accept headers real scrapers send, as Prometheus's `acceptHeader()` builds them. */
const PROMETHEUS = {
  // 2.42 (Debian's, which the end-to-end tests run).
  v2_42:
    'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  // 2.49 to 2.55: scrape_protocols, weighted down from 0.5.
  v2_49:
    'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
  // 3.x by default: the 1.0.0 formats name the escaping the scraper takes.
  v3: 'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
  // 3.x with native histograms and escaping underscores: the protobuf format first, which we do not offer.
  v3Proto:
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=underscores;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
  // 3.x with scrape_protocols: [OpenMetricsText1.0.0, PrometheusText0.0.4]: no 0.0.1 to fall back on.
  v3OpenMetricsOnly: 'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.4',
  // 3.x with scrape_protocols: [PrometheusText1.0.0, OpenMetricsText1.0.0].
  v3ClassicFirst:
    'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,*/*;q=0.4',
};

describe('prefersOpenMetrics', () => {
  it('follows the Accept header qualities, defaulting to the classic format', () => {
    expect(prefersOpenMetrics(undefined)).toBe(false);
    expect(prefersOpenMetrics('')).toBe(false);
    expect(prefersOpenMetrics('*/*')).toBe(false);
    expect(prefersOpenMetrics('text/plain')).toBe(false);
    expect(prefersOpenMetrics('application/openmetrics-text')).toBe(true);
    expect(prefersOpenMetrics('text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5')).toBe(false);
    expect(prefersOpenMetrics('application/openmetrics-text;q=0')).toBe(false);
    expect(prefersOpenMetrics('application/openmetrics-text;q=0,*/*')).toBe(false);
    // Browsers and curl.
    expect(prefersOpenMetrics('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe(false);
  });

  it('gives every version of Prometheus the format it ranks first, parameters and all', () => {
    for (const [version, accept] of Object.entries(PROMETHEUS)) {
      expect(prefersOpenMetrics(accept), version).toBe(version !== 'v3ClassicFirst');
    }
  });

  it('matches a range only when our output satisfies its parameters', () => {
    // Case and spaces do not matter; our charset does.
    expect(prefersOpenMetrics('Application/OpenMetrics-Text; Version=1.0.0; charset=UTF-8')).toBe(true);
    expect(prefersOpenMetrics('application/openmetrics-text;charset=iso-8859-1,text/plain;q=0.1')).toBe(false);
    // A version prom-client does not write loses to one it does.
    expect(prefersOpenMetrics('application/openmetrics-text;version=2.0.0,text/plain;version=0.0.4;q=0.5')).toBe(false);
    // Dots escaping would double the underscores of every name: we cannot answer it as asked.
    expect(
      prefersOpenMetrics('application/openmetrics-text;version=1.0.0;escaping=dots;q=0.6,text/plain;version=0.0.4;q=0.3,*/*;q=0.2'),
    ).toBe(false);
    for (const escaping of ['allow-utf-8', 'underscores', 'values']) {
      expect(
        prefersOpenMetrics(`application/openmetrics-text;version=1.0.0;escaping=${escaping};q=0.6,text/plain;version=0.0.4;q=0.3`),
        escaping,
      ).toBe(true);
    }
  });

  it("breaks ties by the client's order, as negotiator does", () => {
    expect(prefersOpenMetrics('application/openmetrics-text, text/plain')).toBe(true);
    expect(prefersOpenMetrics('text/plain, application/openmetrics-text')).toBe(false);
  });

  it('never throws on a malformed header, and answers in the classic format', () => {
    for (const accept of [
      ';;;',
      ',,,',
      'application/openmetrics-text;q=abc',
      '"',
      'text/plain; charset="utf',
      'garbage',
      '*/*;q=',
      'a/b;x=1,'.repeat(2000),
    ]) {
      expect(() => prefersOpenMetrics(accept), accept).not.toThrow();
    }
    expect(prefersOpenMetrics('application/openmetrics-text;q=abc')).toBe(false);
  });

  it('reads no more than a kilobyte of Accept: negotiation grows with ranges times offers', () => {
    const padded = (ranges: number): string => `application/openmetrics-text,${'x/y;q=0.1,'.repeat(ranges)}x/z;q=0.1`;
    expect(padded(98).length).toBeLessThanOrEqual(1024);
    expect(prefersOpenMetrics(padded(98))).toBe(true);
    expect(padded(100).length).toBeGreaterThan(1024);
    expect(prefersOpenMetrics(padded(100))).toBe(false);
  });
});

describe('renderPrometheusText', () => {
  it('renders an OpenMetrics registry in the classic format: counters keep _total, labels and help are escaped, no exemplars', async () => {
    const registry = createOpenMetricsRegistry();
    new Counter({ name: 'things_total', help: 'Things,\nwith a back\\slash.', labelNames: ['kind'], registers: [registry] }).inc(
      { kind: 'a "quoted"\nvalue\\' },
      2,
    );
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
