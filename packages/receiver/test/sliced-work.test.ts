/**
 * Work in slices lets the event loop in between: a long job does not hold timers, I/O or other
 * requests until it ends; jobs finish in arrival order; a job that throws fails alone. And the
 * protobuf decoder really is a job of many steps.
 */
import { describe, expect, it } from 'vitest';
import { decodeTraceRequestProtobufSteps } from '../src/otlp/decode-protobuf.js';
import { SlicedWork } from '../src/otlp/sliced-work.js';
import type { Steps } from '../src/otlp/sliced-work.js';
import { encodeTraceRequest, nanos, spanIdOf, traceIdOf, wire } from './otlp-wire.js';

/** Keeps the thread busy for `ms`, as decoding a slice of spans does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Spinning on purpose.
  }
}

function* job(name: string, steps: number, log: string[]): Steps<string> {
  for (let i = 0; i < steps; i += 1) {
    busy(3);
    yield;
  }
  log.push(`${name} done`);
  return name;
}

describe('SlicedWork', () => {
  it('lets a timer due meanwhile run before a long job ends', async () => {
    const log: string[] = [];
    const work = new SlicedWork(8);
    const finished = work.run(job('long', 30, log));
    setTimeout(() => log.push('timer'), 0);
    expect(await finished).toBe('long');
    // 30 steps of 3 ms: with no slices the timer would only run after "long done".
    expect(log).toEqual(['timer', 'long done']);
  });

  it('finishes jobs in arrival order, and a job that throws fails alone', async () => {
    const log: string[] = [];
    const work = new SlicedWork(8);
    function* failing(): Steps<string> {
      yield;
      throw new Error('broken body');
    }
    const results = await Promise.allSettled([work.run(job('first', 5, log)), work.run(failing()), work.run(job('second', 5, log))]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toEqual(['first done', 'second done']);
    expect(work.pending).toBe(0);
  });

  it('decodes a large protobuf request in many steps', () => {
    const spans = Array.from({ length: 2000 }, (_, i) => ({
      traceId: traceIdOf(i),
      spanId: spanIdOf(i),
      name: 'GET /',
      startTimeUnixNano: nanos(1.7e12),
      endTimeUnixNano: nanos(1.7e12 + 1),
      attributes: wire.attributes({ 'http.route': wire.string('/') }),
    }));
    const steps = decodeTraceRequestProtobufSteps(encodeTraceRequest([{ resource: [], spans }]));
    let yields = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) yields += 1;
    expect(step.value.spans).toHaveLength(2000);
    expect(yields).toBeGreaterThanOrEqual(15);
  });
});
