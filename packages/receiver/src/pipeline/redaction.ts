/**
 * The redaction processor: removes or masks prompt and response content, and any attributes chosen by
 * name or pattern, from spans before anything is stored or shown — like the Collector's redaction
 * processor, but knowing where LLM content hides in each convention we read.
 */
import type { AttributeValue, Attributes, SpanEventRecord, SpanRecord } from '@llm-monitor/sessions';

/** Attributes that carry prompt or response text, in every convention the receiver reads. */
export const CONTENT_ATTRIBUTES: readonly (string | RegExp)[] = [
  'llm_monitor.content_preview',
  'llm_monitor.result_preview',
  'llm_monitor.prompt_preview',
  'llm_monitor.response_preview',
  'llm_monitor.tokens.text',
  'llm_monitor.step.input_preview',
  'llm_monitor.step.output_preview',
  /^langfuse\.(observation|trace)\.(input|output)$/,
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.system_instructions',
  /^gen_ai\.(prompt|completion)(\.|$)/,
  /^ai\.(prompt|response\.(text|object|toolCalls))(\.|$)/,
  /^llm\.(input|output)_messages(\.|$)/,
  /^(input|output)\.value$/,
  /^traceloop\.entity\.(input|output)$/,
  /^gen_ai\.tool\.call\.(arguments|result)$/,
  /^ai\.(toolCall\.(args|result|input|output)|response\.reasoning|values?|embeddings?)(\.|$)/,
  /^llm\.(prompts|prompt_template\.variables)(\.|$)/,
  /^retrieval\.documents\..*\.document\.content$/,
  /^embedding\.embeddings\..*\.embedding\.text$/,
  'tool.parameters',
  // Errors quote what they choke on: a model's malformed answer, a prompt that was too long.
  'exception.message',
  'exception.stacktrace',
];

/** What the redaction processor does. */
export interface RedactionOptions {
  /** Redact prompt and response content ({@link CONTENT_ATTRIBUTES}). */
  readonly content: boolean;
  /** More attributes to redact: exact names, or `/regular expressions/`. */
  readonly attributes: readonly string[];
  /** `mask` replaces values with `[REDACTED]`; `drop` removes the attributes. */
  readonly mode: 'mask' | 'drop';
}

/** The value masked attributes get. */
export const MASK = '[REDACTED]';

/**
 * Turns `/pattern/flags` into a RegExp and anything else into an exact name. The `g` and `y` flags
 * are dropped: they make `test` remember where it stopped, so every other key would slip through.
 * An invalid pattern throws a SyntaxError (the config reports it).
 */
export function parseAttributeRule(rule: string): string | RegExp {
  const match = /^\/(.+)\/([a-z]*)$/.exec(rule);
  if (!match) return rule;
  return new RegExp(match[1]!, match[2]!.replace(/[gy]/g, ''));
}

/** A function that redacts a batch of spans, or `undefined` when nothing is to be redacted. */
export function createRedactor(options: RedactionOptions): ((spans: SpanRecord[]) => SpanRecord[]) | undefined {
  const rules = [...(options.content ? CONTENT_ATTRIBUTES : []), ...options.attributes.map(parseAttributeRule)];
  if (rules.length === 0) return undefined;
  const names = new Set(rules.filter((rule): rule is string => typeof rule === 'string'));
  const patterns = rules.filter((rule): rule is RegExp => rule instanceof RegExp);
  const matches = (key: string): boolean => names.has(key) || patterns.some((pattern) => pattern.test(key));

  /** The attributes redacted, or the same object when nothing in them matched (no copy). */
  const redactAttributes = (attributes: Attributes): Attributes => {
    let result: Record<string, AttributeValue> | undefined;
    for (const key of Object.keys(attributes)) {
      if (!matches(key)) continue;
      result ??= { ...attributes };
      if (options.mode === 'drop') delete result[key];
      else result[key] = MASK;
    }
    return result ?? attributes;
  };

  return (spans) =>
    spans.map((span) => {
      const attributes = redactAttributes(span.attributes);
      // A status message can quote content too (a parse error citing the model's answer).
      const status = options.content && span.status.message ? { ...span.status, message: MASK } : span.status;
      let events: SpanEventRecord[] | undefined;
      span.events.forEach((event, index) => {
        const eventAttributes = redactAttributes(event.attributes);
        if (eventAttributes === event.attributes) return;
        events ??= [...span.events];
        events[index] = { ...event, attributes: eventAttributes };
      });
      return attributes === span.attributes && !events && status === span.status
        ? span
        : { ...span, attributes, status, events: events ?? span.events };
    });
}
