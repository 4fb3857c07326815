/**
 * Where each convention puts what a step (or a model call) was given and what it returned, and how
 * that becomes a short preview. Admission cuts these values to the preview length as spans arrive
 * (`span-admission.ts`), so a framework that records whole documents costs the builder a preview,
 * not the document. Redaction (the receiver's `redact_content`) removes them before that.
 */
import { ATTR_STEP_INPUT_PREVIEW, ATTR_STEP_OUTPUT_PREVIEW, GEN_AI } from '@llm-monitor/semconv';
import type { AttributeValue, Attributes } from './span-record.js';

/** Characters of a step's input and output kept by default: the same as an LLM call's previews in the call log. */
export const DEFAULT_PREVIEW_LENGTH = 1000;

/** Attributes holding what a step was given, in order of preference (the first present wins). */
export const INPUT_PREVIEW_KEYS = [
  ATTR_STEP_INPUT_PREVIEW,
  GEN_AI.toolCallArguments,
  'ai.toolCall.args',
  'ai.toolCall.input',
  'input.value',
  'traceloop.entity.input',
  'langfuse.observation.input',
  'ai.prompt.messages',
  'ai.prompt',
  'ai.values',
  GEN_AI.inputMessages,
] as const;

/** Attributes holding what a step returned, in order of preference. */
export const OUTPUT_PREVIEW_KEYS = [
  ATTR_STEP_OUTPUT_PREVIEW,
  GEN_AI.toolCallResult,
  'ai.toolCall.result',
  'ai.toolCall.output',
  'output.value',
  'traceloop.entity.output',
  'langfuse.observation.output',
  'ai.response.text',
  'ai.response.object',
  'ai.response.toolCalls',
  'ai.value',
  'ai.embedding',
  GEN_AI.outputMessages,
] as const;

/** Every attribute a preview is read from: admission cuts these to the preview length. */
export const PREVIEW_KEYS: ReadonlySet<string> = new Set<string>([...INPUT_PREVIEW_KEYS, ...OUTPUT_PREVIEW_KEYS]);

/**
 * OpenInference's chat messages, flattened: `llm.input_messages.<i>.message.role` / `.content` (and
 * `llm.output_messages.…`). A framework's `input.value` / `output.value` is its own serialisation
 * (LangChain's is a constructor tree), so a model call's previews come from these first.
 */
const MESSAGE_KEY = /^llm\.(input|output)_messages\.(\d{1,3})\.message\.(role|content)$/;

/** True when admission keeps `key` as a preview's source (cut to the preview length). */
export function isPreviewKey(key: string): boolean {
  return PREVIEW_KEYS.has(key) || (key.startsWith('llm.') && MESSAGE_KEY.test(key));
}

/**
 * OpenInference's flattened messages as text: `role: content` lines for the input (like our prompt
 * previews), the contents alone for the output (the answer); `null` when the span has none.
 */
export function messagesPreview(attributes: Attributes, direction: 'input' | 'output'): string | null {
  const lines: [number, string][] = [];
  for (const key in attributes) {
    const match = MESSAGE_KEY.exec(key);
    if (match?.[1] !== direction || match[3] !== 'content') continue;
    const content = attributes[key];
    if (typeof content !== 'string') continue;
    const role = attributes[`llm.${direction}_messages.${match[2]!}.message.role`];
    lines.push([Number(match[2]), direction === 'input' && typeof role === 'string' ? `${role}: ${content}` : content]);
  }
  if (lines.length === 0) return null;
  lines.sort((a, b) => a[0] - b[0]);
  return lines.map((line) => line[1]).join('\n');
}

/** Deepest nesting written into a preview; deeper levels are written as `…`. */
export const MAX_PREVIEW_DEPTH = 32;

/** What {@link previewText} had to leave out besides the length: levels nested too deep. */
export interface PreviewCut {
  tooDeep: boolean;
}

/**
 * JSON text of `value`, stopping once it passes `maxLength` characters (whatever the value's size);
 * levels past {@link MAX_PREVIEW_DEPTH} are written as `…` and noted in `cut`.
 */
function boundedJson(value: AttributeValue, maxLength: number, cut?: PreviewCut): string {
  const parts: string[] = [];
  let length = 0;
  const push = (text: string): boolean => {
    parts.push(text);
    length += text.length;
    return length <= maxLength;
  };
  const walk = (node: AttributeValue, depth: number): boolean => {
    if (node === null || typeof node !== 'object') return push(JSON.stringify(node) ?? 'null');
    if (depth > MAX_PREVIEW_DEPTH) {
      if (cut) cut.tooDeep = true;
      return push('…');
    }
    if (Array.isArray(node)) {
      if (!push('[')) return false;
      for (const [index, item] of (node as readonly AttributeValue[]).entries()) {
        if (index > 0 && !push(',')) return false;
        if (!walk(item, depth + 1)) return false;
      }
      return push(']');
    }
    if (!push('{')) return false;
    let first = true;
    for (const [key, item] of Object.entries(node as Readonly<Record<string, AttributeValue>>)) {
      if (!first && !push(',')) return false;
      first = false;
      if (!push(`${JSON.stringify(key)}:`) || !walk(item, depth + 1)) return false;
    }
    return push('}');
  };
  walk(value, 0);
  return parts.join('');
}

/** The first `maxLength` characters of `text`, never splitting a surrogate pair. */
export function cutPreview(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  const end = maxLength > 0 && /[\ud800-\udbff]/.test(text[maxLength - 1]!) ? maxLength - 1 : maxLength;
  return text.slice(0, end);
}

/**
 * A preview of any attribute value: text as it is, structured values as JSON; at most `maxLength`
 * characters. `cut`, when given, learns whether levels nested too deep were left out.
 */
export function previewText(value: AttributeValue, maxLength: number, cut?: PreviewCut): string {
  return cutPreview(typeof value === 'string' ? value : boundedJson(value, maxLength, cut), maxLength);
}

/** The preview from the first of `keys` the attributes carry (admission already cut it), else `null`. */
export function firstPreview(attributes: Attributes, keys: readonly string[]): string | null {
  for (const key of keys) {
    const value = attributes[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return null;
}
