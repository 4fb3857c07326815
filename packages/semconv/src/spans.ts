import type { StageId } from './stages.js';

/** Name of a session span: `llm_monitor.session <task>` (the task keeps span names low in cardinality). */
export function sessionSpanName(task: string): string {
  return `llm_monitor.session ${task}`;
}

const stageSpanNames = new Map<string, string>();

/** Name of a stage span: `llm_monitor.stage <stage id>` (made once per stage id). */
export function stageSpanName(stage: StageId): string {
  let name = stageSpanNames.get(stage);
  if (name === undefined) {
    name = `llm_monitor.stage ${stage}`;
    // Stage ids are a small set (ten built-ins plus registered ones); the bound guards against misuse.
    if (stageSpanNames.size < 1024) stageSpanNames.set(stage, name);
  }
  return name;
}

/** Name of an LLM call span, as the GenAI conventions ask: `<operation> <model>`. */
export function llmCallSpanName(operation: string, model: string): string {
  return model ? `${operation} ${model}` : operation;
}
