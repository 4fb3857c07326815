/** The simulated application's repertoire: models, tasks and the text they work on. */

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

/** A task the demo runs, with how long its answers are. */
export interface DemoTask {
  readonly task: string;
  readonly template: string;
  readonly outputTokens: readonly [min: number, max: number];
  readonly inputs: readonly string[];
}

/** Models, from fast and small to slow and large. */
export const DEMO_MODELS: readonly DemoModel[] = [
  { model: 'gpt-4o-mini', provider: 'openai', processorType: 'openai', tokensPerSecond: 110, firstTokenSeconds: 0.35 },
  { model: 'claude-sonnet-4', provider: 'anthropic', processorType: 'anthropic', tokensPerSecond: 70, firstTokenSeconds: 0.6 },
  { model: 'llama3.1:8b', provider: 'ollama', processorType: 'ollama', tokensPerSecond: 45, firstTokenSeconds: 0.25 },
  { model: 'mistral-small', provider: 'mistral_ai', processorType: 'multi_model', tokensPerSecond: 90, firstTokenSeconds: 0.4 },
];

/** Tasks with sample inputs. */
export const DEMO_TASKS: readonly DemoTask[] = [
  {
    task: 'summarize',
    template: 'summarize-v3',
    outputTokens: [60, 220],
    inputs: [
      'Quarterly report: revenue grew 12% while support tickets fell by a third after the new onboarding flow shipped.',
      'Meeting notes: the team agreed to move the launch by two weeks to finish the accessibility review.',
    ],
  },
  {
    task: 'translate',
    template: 'translate-de-en',
    outputTokens: [30, 120],
    inputs: ['Die Lieferung verzögert sich wegen des Streiks im Hafen um voraussichtlich drei Tage.'],
  },
  {
    task: 'classify',
    template: 'ticket-triage',
    outputTokens: [5, 25],
    inputs: ['My invoice shows a charge twice for the same month, please refund one of them.', 'The app crashes when I rotate my phone.'],
  },
  {
    task: 'answer_question',
    template: 'rag-answer',
    outputTokens: [120, 420],
    inputs: ['How do I rotate the API keys without downtime?', 'What is the retention period for audit logs?'],
  },
  {
    task: 'extract_entities',
    template: 'ner-json',
    outputTokens: [40, 140],
    inputs: ['Ada Lovelace met Charles Babbage in London in 1833 to discuss the Analytical Engine.'],
  },
];

/** Words the simulated model streams. */
export const DEMO_WORDS = (
  'the model considers context carefully and answers with a short clear summary of key points ' +
  'including dates names figures and next steps for the team to review before launch'
).split(' ');

/** Failures the demo injects, with the stage they happen in. */
export const DEMO_FAILURES = [
  { stage: 'validating_input', message: 'input exceeds the context window (131072 tokens)', type: 'ContextLengthError' },
  { stage: 'connecting_to_model', message: 'connect ETIMEDOUT after 10000 ms', type: 'TimeoutError' },
  { stage: 'streaming_response', message: '429 rate limit exceeded, retry after 20 s', type: 'RateLimitError' },
] as const;
