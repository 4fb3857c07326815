import { afterAll, beforeAll } from 'vitest';
import { buildReceiver } from '@llm-monitor/receiver';
import type { Receiver, ReceiverConfig } from '@llm-monitor/receiver';

/** A real receiver on free ports for the tests of one file: started before them, closed after. */
export interface TestReceiver {
  receiver: Receiver;
  apiUrl: string;
  otlpTracesUrl: string;
}

/** Registers the hooks that start and stop a receiver; read its fields inside tests. */
export function useReceiver(config: Partial<ReceiverConfig> = {}): TestReceiver {
  const running = {} as TestReceiver;
  beforeAll(async () => {
    running.receiver = await buildReceiver({ port: 0, otlpPort: 0, otlpGrpcPort: 0, storageUrl: 'memory:', logLevel: 'silent', ...config });
    Object.assign(running, await running.receiver.listen());
  });
  afterAll(async () => {
    await running.receiver.close();
  });
  return running;
}
