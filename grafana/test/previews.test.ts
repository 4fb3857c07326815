/**
 * The preview pictures of docs/dashboards.md are drawn from what the queries return, and only from
 * that: values, lines and heatmap cells follow the data; labels from the data stay text.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { asGrafanaSends, formatValue, isRow, legendOf, renderDashboardSvg } from '../src/index.js';
import type { DashboardData, DashboardJson, PanelJson, Series } from '../src/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function panel(type: string, title: string, unit: string | undefined, x: number, y: number): PanelJson {
  return { type, title, gridPos: { x, y, w: 12, h: 8 }, fieldConfig: { defaults: unit ? { unit } : {} }, targets: [{ expr: 'up' }] };
}

function series(legend: string, labels: Record<string, string>, values: number[]): Series {
  return { legend, labels, points: values.map((value, index) => [1000 + index * 10, value] as const) };
}

describe('formatValue', () => {
  it('prints the units our dashboards use the way Grafana does', () => {
    expect(formatValue(0.7, 'reqps')).toBe('0.7 req/s');
    expect(formatValue(2500, 'ops')).toBe('2.5K ops/s');
    expect(formatValue(0.979, 'percentunit')).toBe('97.9%');
    expect(formatValue(0.0123, 's')).toBe('12.3 ms');
    expect(formatValue(0.0000042, 's')).toBe('4.2 µs');
    expect(formatValue(7.5, 's')).toBe('7.5 s');
    expect(formatValue(300, 's')).toBe('5 min');
    expect(formatValue(3 * 1024 * 1024, 'bytes')).toBe('3 MiB');
    expect(formatValue(0.125, 'currencyUSD')).toBe('$0.13');
    expect(formatValue(12_345, 'short')).toBe('12.3K');
    expect(formatValue(Number.NaN, 'short')).toBe('–');
  });
});

describe('queries as Grafana sends them', () => {
  it('puts every variable on All and fills in the rate interval', () => {
    expect(asGrafanaSends('rate(x{model=~"$model", task=~"${task}", instance=~"$instance"}[$__rate_interval])', '15s')).toBe(
      'rate(x{model=~".*", task=~".*", instance=~".*"}[15s])',
    );
  });

  it("fills in the time range, the dashboards' default hour unless told", () => {
    expect(asGrafanaSends('sum(increase(x[$__range])) / sum(increase(y[${__range}]))', '15s')).toBe(
      'sum(increase(x[1h])) / sum(increase(y[1h]))',
    );
    expect(asGrafanaSends('increase(x[$__range]) + rate(x[$__rate_interval])', '15s', '360s')).toBe('increase(x[360s]) + rate(x[15s])');
  });

  it('fills legends from labels, and names the label set without a format', () => {
    expect(legendOf('{{model}} {{ direction }}', { model: 'gpt-4o-mini', direction: 'output' })).toBe('gpt-4o-mini output');
    expect(legendOf(undefined, { __name__: 'up', job: 'llm-monitor' })).toBe('{job="llm-monitor"}');
  });
});

describe('renderDashboardSvg', () => {
  const dashboard: DashboardJson = {
    title: 'Test <dashboard>',
    panels: [
      { ...panel('stat', 'Rate', 'reqps', 0, 0), gridPos: { x: 0, y: 0, w: 6, h: 4 }, targets: [{ expr: 'x', instant: true }] },
      panel('timeseries', 'Lines', 's', 0, 4),
      panel('heatmap', 'Cells', 's', 12, 4),
      panel('timeseries', 'Empty', 'short', 0, 12),
    ],
  };
  const data: DashboardData = {
    start: 1000,
    end: 1030,
    panels: [
      [series('value', {}, [2.5])],
      [series('completed', { status: 'completed' }, [1, 2, Number.NaN, 4]), series('<img src=x onerror=alert(1)>', {}, [0, 1, 1, 0])],
      // Cumulative buckets: 1 at ≤ 0.1 s, 3 at ≤ 1 s (so 2 in its own cell), nothing more above.
      [series('0.1', { le: '0.1' }, [1, 1, 1, 1]), series('1', { le: '1' }, [3, 3, 3, 3]), series('+Inf', { le: '+Inf' }, [3, 3, 3, 3])],
      [],
    ],
  };
  const svg = renderDashboardSvg(dashboard, data);

  it('is one SVG document the size of the grid', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="1208" height="')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });

  it('shows a stat as its last value in the panel unit', () => {
    expect(svg).toContain('>2.5 req/s</text>');
  });

  it('puts round grid lines up to the largest value', () => {
    // Largest value 4 s: grid lines every second, up to 4 s.
    for (const label of ['0 s', '1 s', '2 s', '3 s', '4 s']) expect(svg).toContain(`>${label}</text>`);
    expect(svg).not.toContain('>5 s</text>');
  });

  it('draws one line per series, broken where a value is missing', () => {
    const paths = [...svg.matchAll(/<path d="([^"]*)"/g)].map((match) => match[1]!);
    expect(paths).toHaveLength(2);
    expect(paths[0]!.match(/M/g)).toHaveLength(2);
    // Statuses keep their colours: completed is green.
    expect(svg).toMatch(/<path d="[^"]*" fill="none" stroke="#73bf69"/);
  });

  it('draws heatmap cells from differenced buckets, none for an empty bucket', () => {
    const cells = [...svg.matchAll(/<rect [^>]*fill="#ff780a" fill-opacity="([0-9.]+)"/g)].map((match) => Number(match[1]));
    // Four times × two non-empty buckets; the fuller bucket (2) is drawn stronger than the other (1).
    expect(cells).toHaveLength(8);
    expect(new Set(cells).size).toBe(2);
    expect(Math.max(...cells)).toBe(1);
  });

  it('says No data for a panel whose queries returned nothing', () => {
    expect(svg.match(/>No data</g)).toHaveLength(1);
  });

  it('keeps titles and labels as text', () => {
    expect(svg).not.toContain('<img');
    expect(svg).not.toContain('<dashboard>');
    expect(svg).toContain('Test &lt;dashboard&gt;');
  });
});

describe('renderDashboardSvg of a row', () => {
  const dashboard: DashboardJson = {
    title: 'Rows',
    panels: [
      panel('timeseries', 'Above', 's', 0, 0),
      { type: 'row', title: 'Steps <b>', gridPos: { x: 0, y: 8, w: 24, h: 1 } },
      panel('timeseries', 'Below', 's', 0, 9),
    ],
  };
  const svg = renderDashboardSvg(dashboard, { start: 1000, end: 1030, panels: [[series('a', {}, [1, 2])], [], [series('b', {}, [3, 4])]] });

  it('draws its title across the grid, with no frame and no "No data"', () => {
    expect(svg).toContain('>Steps &lt;b&gt;</text>');
    expect(svg).not.toContain('No data');
    // Two panel frames, none for the row.
    expect(svg.match(/<rect width="[0-9.]+" height="[0-9.]+" rx="3"/g)).toHaveLength(2);
  });
});

describe('renderDashboardSvg of a bar gauge', () => {
  const dashboard: DashboardJson = {
    title: 'Ranking',
    panels: [
      { ...panel('bargauge', 'Top spenders', 'currencyUSD', 0, 0), targets: [{ expr: 'x', instant: true }] },
      { ...panel('bargauge', 'Nothing', 'currencyUSD', 12, 0), targets: [{ expr: 'y', instant: true }] },
    ],
  };
  const data: DashboardData = {
    start: 1000,
    end: 1030,
    panels: [
      [
        series('user-7', { user: 'user-7' }, [4]),
        series('<b>user-2</b>', { user: '<b>user-2</b>' }, [1]),
        series('unknown', { user: 'unknown' }, [Number.NaN]),
      ],
      [],
    ],
  };
  const svg = renderDashboardSvg(dashboard, data);

  it('draws one bar per series with a value, in query order, the largest longest, with its value in the panel unit', () => {
    const widths = [...svg.matchAll(/<rect x="[0-9.]+" y="[0-9.]+" width="([0-9.]+)" height="[0-9.]+" fill="#(?:73bf69|f2cc0c)"\/>/g)].map(
      (match) => Number(match[1]),
    );
    expect(widths).toHaveLength(2);
    expect(widths[0]! / widths[1]!).toBeCloseTo(4, 1);
    expect(svg.indexOf('>user-7<')).toBeLessThan(svg.indexOf('&lt;b&gt;user-2'));
    expect(svg).toContain('>$4</text>');
    expect(svg).toContain('>$1</text>');
    expect(svg).not.toContain('>unknown<');
    expect(svg).not.toContain('<b>');
  });

  it('says No data when the query returned nothing', () => {
    expect(svg.match(/>No data</g)).toHaveLength(1);
  });
});

describe('docs/dashboards.md', () => {
  const docs = readFileSync(`${root}docs/dashboards.md`, 'utf8');
  const files = readdirSync(`${root}grafana/dashboards`).filter((file) => file.endsWith('.json'));

  it('shows a picture of every dashboard, and the picture exists', () => {
    for (const file of files) {
      const picture = `images/dashboards/${file.replace(/\.json$/, '.svg')}`;
      expect(docs, picture).toContain(`](${picture})`);
      expect(existsSync(`${root}docs/${picture}`), picture).toBe(true);
    }
  });

  it('explains every panel of every dashboard', () => {
    for (const file of files) {
      const dashboard = JSON.parse(readFileSync(`${root}grafana/dashboards/${file}`, 'utf8')) as DashboardJson;
      const section = docs.split(/^## /m).find((part) => part.startsWith(dashboard.title));
      expect(section, dashboard.title).toBeDefined();
      for (const one of dashboard.panels) {
        // A row is a heading of its own over the panels it groups.
        if (isRow(one)) expect(section, `${dashboard.title} / row ${one.title}`).toMatch(new RegExp(`^### ${one.title}$`, 'm'));
        // A table row naming the panel (the formatter pads cells, so compare them trimmed).
        else
          expect(
            section!.split('\n').some((line) => line.startsWith('|') && line.split('|').some((cell) => cell.trim() === one.title)),
            `${dashboard.title} / ${one.title}`,
          ).toBe(true);
      }
    }
  });
});
