import type { MonitoredSession } from '@llm-monitor/instrumentation';

/** Runs one demo-shaped session on `session` and completes it (see demo-shaped-session.mjs). */
export function runDemoShapedSession(session: MonitoredSession): Promise<void>;
