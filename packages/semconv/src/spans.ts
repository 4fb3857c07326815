import type { StageId } from './stages.js';

/** Name of a session span: `llm_monitor.session <task>` (the task keeps span names low in cardinality). */
export function sessionSpanName(task: string): string {
  return `llm_monitor.session ${task}`;
}

/** Name of a stage span: `llm_monitor.stage <stage id>`. */
export function stageSpanName(stage: StageId): string {
  return `llm_monitor.stage ${stage}`;
}

/** Name of an LLM call span, as the GenAI conventions ask: `<operation> <model>`. */
export function llmCallSpanName(operation: string, model: string): string {
  return model ? `${operation} ${model}` : operation;
}
