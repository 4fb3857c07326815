export { runDemoWorkload } from './demo-workload.js';
export type { DemoCounts, DemoWorkload, DemoWorkloadOptions } from './demo-workload.js';
export { runDemoSession } from './demo-session.js';
export type { DemoOutcome, DemoSessionOptions, Random } from './demo-session.js';
export { DEMO_FAILURES, DEMO_MODELS, DEMO_TASKS } from './scenarios.js';
export type { DemoModel, DemoTask } from './scenarios.js';
export { DEMO_EXAMPLES } from './task-examples.js';
export type { DemoExample, DemoTaskName } from './task-examples.js';
export { answerTokens } from './simulated-stream.js';
