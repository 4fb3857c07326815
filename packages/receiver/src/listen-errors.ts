/**
 * Starting one of the receiver's two servers, and why it could not start told as the operator
 * needs it: which server, which address, and the setting that moves it. Node's own error
 * (`listen EADDRINUSE: address already in use 127.0.0.1:8000`) names neither the server nor the fix.
 */
import type { FastifyInstance } from 'fastify';
import { SETTINGS } from './config.js';
import type { ReceiverConfig } from './config.js';
import { LlmMonitorError } from './errors.js';

/** The two servers, by the setting that chooses each one's port. */
const SERVER_NAMES = {
  port: 'the API server (web monitor, REST API, /metrics)',
  otlpPort: 'the OTLP/HTTP server',
  otlpGrpcPort: 'the OTLP/gRPC server',
} as const;

/** Which server: the key of the setting holding its port. */
export type ServerPortSetting = keyof typeof SERVER_NAMES;

/** How to change a setting, in every source: `--port or LLM_MONITOR_PORT (port in the config file)`. */
function howToSet(key: keyof ReceiverConfig): string {
  const setting = SETTINGS.find((candidate) => candidate.key === key)!;
  return `--${setting.flag} or ${setting.env} (${setting.file} in the config file)`;
}

function address(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The error of a failed `listen` as the catalogue error it is: a port in use
 * (`LLMMON_ERR_PORT_IN_USE`), a port not permitted (`LLMMON_ERR_PORT_NOT_PERMITTED`), a host that
 * is not this machine's (`LLMMON_ERR_CONFIG`). Any other error is returned as it is.
 */
export function listenError(error: unknown, server: ServerPortSetting, host: string, port: number): unknown {
  const where = `${SERVER_NAMES[server]} cannot listen on ${address(host, port)}`;
  switch ((error as NodeJS.ErrnoException | null)?.code) {
    case 'EADDRINUSE': {
      // The usual holders: a receiver still running in another terminal, or a Collector on 4318.
      const holder = server === 'port' ? 'another llm-monitor' : 'another llm-monitor, or an OpenTelemetry Collector';
      return new LlmMonitorError(
        'LLMMON_ERR_PORT_IN_USE',
        `${where}: the port is already in use (${holder}?). Stop what holds it, or choose another port with ${howToSet(server)}; 0 picks any free port`,
        { cause: error },
      );
    }
    case 'EACCES':
    case 'EPERM': {
      const why = port < 1024 ? 'ports below 1024 need privileges' : 'the system does not let this process use it';
      return new LlmMonitorError(
        'LLMMON_ERR_PORT_NOT_PERMITTED',
        `${where}: permission denied (${why}). Choose ${port < 1024 ? 'a port from 1024 up' : 'another port'} with ${howToSet(server)}`,
        { cause: error },
      );
    }
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND': {
      const why =
        (error as NodeJS.ErrnoException).code === 'ENOTFOUND'
          ? `the host name ${host} does not resolve`
          : `${host} is not an address of this machine`;
      return new LlmMonitorError(
        'LLMMON_ERR_CONFIG',
        `${where}: ${why}. Choose the interface with ${howToSet('host')}: 127.0.0.1 for this machine only, 0.0.0.0 for every interface`,
        { cause: error },
      );
    }
    default:
      return error;
  }
}

/** Starts `server` on `host:port`; a failure is thrown as {@link listenError} makes it. */
export async function listenOn(server: FastifyInstance, which: ServerPortSetting, host: string, port: number): Promise<void> {
  try {
    await server.listen({ host, port });
  } catch (error) {
    throw listenError(error, which, host, port);
  }
}
