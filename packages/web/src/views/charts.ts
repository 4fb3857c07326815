/** Small charts as SVG: stacked bars of endings per bucket, a latency line, and stacked bars of usage per day. */
import { svg } from '../dom.js';
import { formatDuration } from '../format.js';
import type { ChartBucket } from '../live-state.js';
import type { StackedSeries } from '../usage-model.js';

const WIDTH = 300;
const HEIGHT = 80;

/** A chart and the line of text under it (kept out of the SVG, which is stretched to its box). */
export interface Chart {
  readonly chart: SVGSVGElement;
  readonly label: string;
}

/** An SVG that fills its box whatever the box's shape: the time axis runs the full width. */
function stretched(description: string, ...parts: SVGElement[]): SVGSVGElement {
  return svg(
    'svg',
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', class: 'chart', role: 'img', 'aria-label': description },
    ...parts,
  );
}

/** Sessions ended per second, completed stacked on failed, one bar per bucket. */
export function throughputChart(buckets: readonly ChartBucket[], bucketSeconds: number): Chart {
  const largest = Math.max(1, ...buckets.map((bucket) => bucket.completed + bucket.failed));
  const width = WIDTH / Math.max(1, buckets.length);
  const bars = buckets.flatMap((bucket, index) => {
    const x = index * width;
    const failedHeight = (bucket.failed / largest) * HEIGHT;
    const completedHeight = (bucket.completed / largest) * HEIGHT;
    return [
      svg('rect', {
        class: 'bar-completed',
        x: x.toFixed(1),
        y: (HEIGHT - completedHeight - failedHeight).toFixed(1),
        width: Math.max(1, width - 1).toFixed(1),
        height: completedHeight.toFixed(1),
      }),
      svg('rect', {
        class: 'bar-failed',
        x: x.toFixed(1),
        y: (HEIGHT - failedHeight).toFixed(1),
        width: Math.max(1, width - 1).toFixed(1),
        height: failedHeight.toFixed(1),
      }),
    ];
  });
  const peak = `${(largest / bucketSeconds).toFixed(1)}/s`;
  return { chart: stretched(`sessions ended per second over the last minutes, peak ${peak}`, ...bars), label: `peak ${peak}` };
}

/** Median duration of the sessions ended in each bucket, as a line with gaps where none ended. */
export function latencyChart(buckets: readonly ChartBucket[]): Chart {
  const values = buckets.map((bucket) => bucket.p50Ms);
  const largest = Math.max(1, ...values.filter((value): value is number => value !== null));
  const step = WIDTH / Math.max(1, buckets.length - 1);
  let path = '';
  let drawing = false;
  values.forEach((value, index) => {
    if (value === null) {
      drawing = false;
      return;
    }
    path += `${drawing ? 'L' : 'M'}${(index * step).toFixed(1)} ${(HEIGHT - (value / largest) * (HEIGHT - 4)).toFixed(1)}`;
    drawing = true;
  });
  return {
    chart: stretched(
      `median processing time over the last minutes, up to ${formatDuration(largest)}`,
      svg('path', { d: path || `M0 ${HEIGHT}`, class: 'latency-line', 'vector-effect': 'non-scaling-stroke' }),
    ),
    label: `max ${formatDuration(largest)}`,
  };
}

/**
 * Stacked bars, one per category (day), one coloured part per series (its colour `series-0`,
 * `series-1`, … in the style sheet); each part names its series, category and value on hover.
 */
export function stackedBarChart(data: StackedSeries, format: (value: number) => string, description: string): Chart {
  const largest = data.peak > 0 ? data.peak : 1;
  const width = WIDTH / Math.max(1, data.categories.length);
  const gap = data.categories.length > 40 ? 0.5 : 2;
  const bars = data.categories.flatMap((category, index) => {
    let top = HEIGHT;
    return data.series.flatMap((part) => {
      const value = part.values[index] ?? 0;
      if (value <= 0) return [];
      const height = (value / largest) * (HEIGHT - 2);
      top -= height;
      return [
        svg(
          'rect',
          {
            class: `series-${part.colour}`,
            x: (index * width + gap / 2).toFixed(2),
            y: top.toFixed(2),
            width: Math.max(0.5, width - gap).toFixed(2),
            height: height.toFixed(2),
          },
          svg('title', {}, `${category} · ${part.name}: ${format(value)}`),
        ),
      ];
    });
  });
  const label = data.total > 0 ? `peak ${format(data.peak)} a day · ${format(data.total)} in all` : 'nothing in this window';
  return { chart: stretched(`${description}; ${label}`, ...bars), label };
}
