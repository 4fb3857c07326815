/**
 * The newcomer's first mistake, end to end: the application's exporter is pointed at the receiver's API
 * port instead of its OTLP port. The receiver answers 404 naming its OTLP URL, and the setup says so
 * once — as a process warning, which Node prints without any logger set up — however many exports fail.
 * Pointed at the OTLP port, the same application's session arrives.
 */
import { describe, expect, it } from 'vitest';
import { setupLlmMonitor, WRONG_ENDPOINT_WARNING } from '@llm-monitor/node';
import { useReceiver } from './support/receiver.js';
import { waitFor } from './support/wait.js';

const running = useReceiver();

describe('an exporter pointed at the API port', () => {
  it('is told once which URL takes OTLP, and its spans arrive once pointed there', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }): void => {
      if (warning.code === WRONG_ENDPOINT_WARNING) warnings.push(warning.message);
    };
    process.on('warning', onWarning);
    try {
      const wrong = setupLlmMonitor({
        endpoint: `${running.apiUrl}/v1/traces`,
        serviceName: 'misdirected',
        registerContextManager: false,
        flushOnExit: false,
      });
      for (let i = 0; i < 3; i += 1) {
        wrong.monitor.startSession({ task: 'misdirected' }).complete();
        await wrong.processor.forceFlush();
      }
      await wrong.shutdown();
      await new Promise((resolve) => setImmediate(resolve));
      expect(wrong.processor.stats().failedExports).toBeGreaterThanOrEqual(3);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${running.apiUrl}/v1/traces answered HTTP 404`);
    expect(warnings[0]).toContain('this is the llm-monitor API port');
    expect(warnings[0]).toContain(`send OTLP to ${running.otlpTracesUrl}`);
    expect(running.receiver.pipeline.store.size).toBe(0);

    const right = setupLlmMonitor({
      endpoint: running.otlpTracesUrl,
      serviceName: 'redirected',
      registerContextManager: false,
      flushOnExit: false,
    });
    right.monitor.startSession({ task: 'redirected' }).complete();
    await right.shutdown();
    const session = await waitFor('the session sent to the OTLP port', () =>
      [...running.receiver.pipeline.store.values()].find((candidate) => candidate.service_name === 'redirected'),
    );
    expect(session.task).toBe('redirected');
  });
});
