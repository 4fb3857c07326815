import { afterEach, describe, expect, it } from 'vitest';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_PENDING_SPAN_TYPE, ATTR_SPAN_TYPE, ATTR_STAGE, ATTR_TOKENS_TOTAL } from '@llm-monitor/semconv';
import { setupLlmMonitor } from '../src/index.js';
import type { LlmMonitorSetup } from '../src/index.js';

let setup: LlmMonitorSetup | undefined;
afterEach(async () => {
  await setup?.shutdown();
  setup = undefined;
});

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const isMarker = (span: ReadableSpan): boolean => span.attributes[ATTR_SPAN_TYPE] === 'pending';

/** An exporter that never answers, like a receiver that accepted the connection and hung. */
class HangingExporter implements SpanExporter {
  calls = 0;
  export(): void {
    this.calls += 1;
  }
  async shutdown(): Promise<void> {}
}

describe('LiveSpanProcessor', () => {
  it('exports markers for a running session and stage without waiting for them to end', async () => {
    const exporter = new InMemorySpanExporter();
    setup = setupLlmMonitor({ exporter, serviceName: 'live-test' });
    const session = setup.monitor.startSession({ task: 't' });
    session.stage('initializing');
    session.stage('validating_input');
    await until('markers', () => exporter.getFinishedSpans().filter(isMarker).length >= 2);
    const markers = exporter.getFinishedSpans().filter(isMarker);
    // The first stage had ended before the export: no marker for it, its real span says it all.
    expect(markers.map((marker) => [marker.attributes[ATTR_PENDING_SPAN_TYPE], marker.attributes[ATTR_STAGE]])).toEqual([
      ['session', undefined],
      ['stage', 'validating_input'],
    ]);
    expect(markers[0]!.resource.attributes['service.name']).toBe('live-test');
    expect(markers[1]!.parentSpanContext?.traceId).toBe(markers[0]!.spanContext().traceId);
    expect(
      exporter
        .getFinishedSpans()
        .filter((span) => !isMarker(span))
        .map((span) => span.attributes[ATTR_STAGE]),
    ).toEqual(['initializing']);
    session.complete();
    await setup.processor.forceFlush();
    expect(setup.processor.stats()).toMatchObject({ droppedSpans: 0, failedExports: 0, queuedSpans: 0 });
  });

  it('exports at once after a quiet spell, and then no more often than its delay', async () => {
    const exporter = new InMemorySpanExporter();
    // A delay far longer than the test waits: only what follows a quiet spell can leave in time.
    setup = setupLlmMonitor({ exporter, serviceName: 'live-test', processor: { exportDelayMs: 10_000 } });
    const first = setup.monitor.startSession({ task: 't' });
    first.stage('initializing');
    await until('the first export', () => exporter.getFinishedSpans().length > 0, 2000);
    const exported = exporter.getFinishedSpans().length;
    // Just exported: the next span waits for the delay.
    setup.monitor.startSession({ task: 't' }).complete();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(exporter.getFinishedSpans()).toHaveLength(exported);
    first.complete();
  });

  it('sends streaming progress while the stage runs', async () => {
    const exporter = new InMemorySpanExporter();
    setup = setupLlmMonitor({ exporter, progressIntervalMs: 0 });
    const session = setup.monitor.startSession({ task: 't' });
    session.stage('streaming_response');
    session.tokens(3);
    await until('progress', () => exporter.getFinishedSpans().some((span) => span.attributes[ATTR_TOKENS_TOTAL] === 3));
    session.tokens(2);
    await until('more progress', () => exporter.getFinishedSpans().some((span) => span.attributes[ATTR_TOKENS_TOTAL] === 5));
    session.complete();
  });

  it('keeps memory bounded and the application unhindered when the receiver hangs', async () => {
    const exporter = new HangingExporter();
    setup = setupLlmMonitor({ exporter, processor: { maxQueueSize: 100, maxPendingUpdates: 50, exportTimeoutMs: 300 } });
    for (let i = 0; i < 500; i += 1) {
      const session = setup.monitor.startSession({ task: 't' });
      session.stage('initializing');
      session.complete();
    }
    await until('the first export', () => exporter.calls > 0);
    const stats = setup.processor.stats();
    expect(stats.queuedSpans).toBeLessThanOrEqual(100);
    expect(stats.droppedSpans).toBeGreaterThan(0);
  });

  it('counts failed exports and goes on', async () => {
    const failing: SpanExporter = {
      export: (_spans, done) => done({ code: 1, error: new Error('ECONNREFUSED') }),
      shutdown: async () => undefined,
    };
    setup = setupLlmMonitor({ exporter: failing });
    setup.monitor.startSession({ task: 't' }).complete();
    await setup.processor.forceFlush();
    setup.monitor.startSession({ task: 't' }).complete();
    await setup.processor.forceFlush();
    expect(setup.processor.stats().failedExports).toBe(2);
  });

  it('flushes what waits on shutdown, and then takes nothing more', async () => {
    const exported: ReadableSpan[] = [];
    const exporter: SpanExporter = {
      export: (spans, done) => {
        exported.push(...spans);
        done({ code: 0 });
      },
      shutdown: async () => undefined,
    };
    setup = setupLlmMonitor({ exporter, processor: { exportDelayMs: 60_000 } });
    setup.monitor.startSession({ task: 't' }).complete();
    await setup.shutdown();
    expect(exported).toHaveLength(1);
    setup.monitor.startSession({ task: 't' }).complete();
    expect(setup.processor.stats().queuedSpans).toBe(0);
    setup = undefined;
  });
});
