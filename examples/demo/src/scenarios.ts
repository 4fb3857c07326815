/** The simulated application's repertoire: models, tasks and failures. */
import { DEMO_EXAMPLES } from './task-examples.js';
import type { DemoExample, DemoTaskName } from './task-examples.js';

/** A model the demo pretends to call. */
export interface DemoModel {
  readonly model: string;
  readonly provider: string;
  readonly processorType: string;
  /** Output tokens per second while streaming. */
  readonly tokensPerSecond: number;
  /** Seconds to the first token, roughly. */
  readonly firstTokenSeconds: number;
}

/** A task the demo runs: its template, what the template asks the model, and inputs with their answers. */
export interface DemoTask {
  readonly task: DemoTaskName;
  readonly template: string;
  /** The template's instruction, the start of the prompt the model receives. */
  readonly instruction: string;
  /** Inputs with the answer the simulated model streams for each (their length sets the output tokens). */
  readonly examples: readonly DemoExample[];
}

/** Models, from fast and small to slow and large. */
export const DEMO_MODELS: readonly DemoModel[] = [
  { model: 'gpt-4o-mini', provider: 'openai', processorType: 'openai', tokensPerSecond: 110, firstTokenSeconds: 0.35 },
  { model: 'claude-sonnet-4', provider: 'anthropic', processorType: 'anthropic', tokensPerSecond: 70, firstTokenSeconds: 0.6 },
  { model: 'llama3.1:8b', provider: 'ollama', processorType: 'ollama', tokensPerSecond: 45, firstTokenSeconds: 0.25 },
  { model: 'mistral-small', provider: 'mistral_ai', processorType: 'multi_model', tokensPerSecond: 90, firstTokenSeconds: 0.4 },
];

/** Tasks with sample inputs and answers (the texts live in task-examples.ts). */
export const DEMO_TASKS: readonly DemoTask[] = [
  {
    task: 'summarize',
    template: 'summarize-v3',
    instruction: 'Summarize the text below in a few sentences for a busy reader. Keep every figure exactly as written.',
    examples: DEMO_EXAMPLES.summarize,
  },
  {
    task: 'translate',
    template: 'translate-de-en',
    instruction: 'Translate the German text below into natural English. Keep names, dates and numbers.',
    examples: DEMO_EXAMPLES.translate,
  },
  {
    task: 'classify',
    template: 'ticket-triage',
    instruction:
      'Classify the support ticket below. Answer with "Category:" (billing, bug, account, feature_request or how_to), "Priority:" (low, normal, high or urgent) and a one-sentence "Reason:".',
    examples: DEMO_EXAMPLES.classify,
  },
  {
    task: 'answer_question',
    template: 'rag-answer',
    instruction: 'Answer the customer question below from the retrieved documentation. Be concise; use a list for steps.',
    examples: DEMO_EXAMPLES.answer_question,
  },
  {
    task: 'extract_entities',
    template: 'ner-json',
    instruction: 'List the named entities in the text below as JSON: {"entities": [{"text", "type"}]}, each text exactly as it appears.',
    examples: DEMO_EXAMPLES.extract_entities,
  },
];

/** Failures the demo injects, with the stage they happen in. */
export const DEMO_FAILURES = [
  { stage: 'validating_input', message: 'input exceeds the context window (131072 tokens)', type: 'ContextLengthError' },
  { stage: 'connecting_to_model', message: 'connect ETIMEDOUT after 10000 ms', type: 'TimeoutError' },
  { stage: 'streaming_response', message: '429 rate limit exceeded, retry after 20 s', type: 'RateLimitError' },
] as const;
