/** Live statistics: figures from the server's statistics, tokens per second and two small charts. */
import { h, replaceChildren } from '../dom.js';
import { formatCount, formatDuration, formatRate, formatShare } from '../format.js';
import type { LiveState } from '../live-state.js';
import { latencyChart, throughputChart } from './charts.js';

const BUCKET_MS = 10_000;

function figure(name: string, testId: string): { element: HTMLElement; value: HTMLElement; detail: HTMLElement } {
  const value = h('div', { class: 'figure-value', attributes: { 'data-testid': testId } }, '–');
  const detail = h('div', { class: 'figure-detail' });
  return { element: h('div', { class: 'figure' }, h('div', { class: 'figure-name' }, name), value, detail), value, detail };
}

/** The statistics strip: `refresh` draws the figures (on changes), `refreshCharts` the charts (once a second). */
export function statisticsView(state: LiveState): { element: HTMLElement; refresh(now: number): void; refreshCharts(now: number): void } {
  const sessions = figure('Sessions', 'stat-sessions');
  const success = figure('Success rate', 'stat-success');
  const processing = figure('Processing time p50', 'stat-processing');
  const tokens = figure('Tokens per second', 'stat-tokens');
  const firstToken = figure('Time to first token p50', 'stat-ttft');
  const throughput = h('div', { class: 'chart-box' });
  const latency = h('div', { class: 'chart-box' });
  const element = h(
    'section',
    { class: 'statistics', attributes: { 'aria-label': 'Live statistics' } },
    h('div', { class: 'figures' }, sessions.element, success.element, processing.element, tokens.element, firstToken.element),
    h(
      'div',
      { class: 'charts' },
      h('figure', {}, h('figcaption', {}, 'Sessions ended per 10 s (completed, failed)'), throughput),
      h('figure', {}, h('figcaption', {}, 'Median processing time'), latency),
    ),
  );

  const refresh = (now: number): void => {
    const statistics = state.statistics;
    if (statistics) {
      sessions.value.textContent = formatCount(statistics.sessions_total);
      sessions.detail.textContent = `${formatCount(statistics.active)} active · ${formatCount(statistics.failed)} failed`;
      success.value.textContent = formatShare(statistics.success_rate);
      success.detail.textContent = `${formatCount(statistics.completed)} completed`;
      processing.value.textContent = formatDuration(statistics.processing_time_ms.p50);
      processing.detail.textContent = `p95 ${formatDuration(statistics.processing_time_ms.p95)} · p99 ${formatDuration(statistics.processing_time_ms.p99)}`;
      firstToken.value.textContent = formatDuration(statistics.time_to_first_token_ms.p50);
      firstToken.detail.textContent = `p95 ${formatDuration(statistics.time_to_first_token_ms.p95)}`;
      tokens.detail.textContent = `${formatCount(statistics.tokens_in)} in · ${formatCount(statistics.tokens_out)} out`;
    }
    tokens.value.textContent = formatRate(state.tokensPerSecond(now));
  };
  // The charts move in 10 s buckets: redrawn once a second, not on every event.
  const refreshCharts = (now: number): void => {
    const buckets = state.chartBuckets(now, BUCKET_MS);
    for (const [box, { chart, label }] of [
      [throughput, throughputChart(buckets, BUCKET_MS / 1000)],
      [latency, latencyChart(buckets)],
    ] as const) {
      replaceChildren(box, chart, h('div', { class: 'chart-label' }, label));
    }
  };
  return { element, refresh, refreshCharts };
}
