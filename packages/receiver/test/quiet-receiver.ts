/**
 * A receiver as most tests build one: every server on a free port, nothing kept on disk, nothing
 * logged — with `config` over that.
 */
import { buildReceiver } from '../src/index.js';
import type { BuildReceiverOptions, Receiver, ReceiverConfig } from '../src/index.js';

export function buildQuietReceiver(config: Partial<ReceiverConfig> = {}, options: BuildReceiverOptions = {}): Promise<Receiver> {
  return buildReceiver({ port: 0, otlpPort: 0, otlpGrpcPort: 0, storageUrl: 'memory:', logLevel: 'silent', ...config }, options);
}
