import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_PRICES, DEFAULT_PRICES_SOURCE, costUsd, priceOf, withDefaultPrices } from '../src/index.js';
import type { ModelPrice, ModelPrices } from '../src/index.js';

const price = (input: number, output: number): ModelPrice => ({ input_per_million: input, output_per_million: output });

/** A small table of our own, so the matching rules are tested apart from the snapshot's contents. */
const TABLE: ModelPrices = {
  'gpt-4o': price(2.5, 10),
  'gpt-4o-mini': price(0.15, 0.6),
  'gpt-4o-2024-05-13': price(5, 15),
  'claude-3-5-sonnet': price(3, 15),
  'gemini-1.5-flash': price(0.075, 0.3),
  'command-r': price(0.15, 0.6),
  'mistral-large': price(2, 6),
  'Org/Custom-Model': price(7, 8),
};

describe('the built-in price table', () => {
  it('prices the demo models', () => {
    for (const model of ['gpt-4o-mini', 'claude-sonnet-4', 'mistral-small']) {
      const found = priceOf(DEFAULT_MODEL_PRICES, model);
      expect(found, model).toBeDefined();
      expect(found!.input_per_million, model).toBeGreaterThan(0);
      expect(found!.output_per_million, model).toBeGreaterThan(0);
    }
    // An embedding model: input only.
    expect(priceOf(DEFAULT_MODEL_PRICES, 'text-embedding-3-small')).toEqual({
      input_per_million: expect.any(Number),
      output_per_million: 0,
    });
    expect(priceOf(DEFAULT_MODEL_PRICES, 'text-embedding-3-small')!.input_per_million).toBeGreaterThan(0);
  });

  it('leaves a local Ollama model unpriced (the data has no price for it)', () => {
    expect(priceOf(DEFAULT_MODEL_PRICES, 'llama3.1:8b')).toBeUndefined();
    expect(costUsd(DEFAULT_MODEL_PRICES, 'llama3.1:8b', 1000, 1000)).toBeNull();
  });

  it('prices the dated and provider-prefixed names instrumentations report', () => {
    const mini = priceOf(DEFAULT_MODEL_PRICES, 'gpt-4o-mini');
    expect(priceOf(DEFAULT_MODEL_PRICES, 'gpt-4o-mini-2024-07-18')).toEqual(mini);
    expect(priceOf(DEFAULT_MODEL_PRICES, 'openai/gpt-4o-mini')).toEqual(mini);
    const sonnet = priceOf(DEFAULT_MODEL_PRICES, 'claude-sonnet-4');
    expect(priceOf(DEFAULT_MODEL_PRICES, 'claude-sonnet-4-20250514')).toEqual(sonnet);
    expect(priceOf(DEFAULT_MODEL_PRICES, 'anthropic.claude-sonnet-4-20250514-v1:0')).toEqual(sonnet);
    expect(priceOf(DEFAULT_MODEL_PRICES, 'claude-sonnet-4@20250514')).toEqual(sonnet);
    expect(priceOf(DEFAULT_MODEL_PRICES, 'mistral-small-latest')).toEqual(priceOf(DEFAULT_MODEL_PRICES, 'mistral-small'));
  });

  it('is a sorted, sane, frozen snapshot with its source', () => {
    expect(DEFAULT_PRICES_SOURCE.package).toBe('@pydantic/genai-prices');
    expect(DEFAULT_PRICES_SOURCE.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(DEFAULT_PRICES_SOURCE.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(new Date(`${DEFAULT_PRICES_SOURCE.date}T00:00:00Z`).toISOString().slice(0, 10)).toBe(DEFAULT_PRICES_SOURCE.date);
    const names = Object.keys(DEFAULT_MODEL_PRICES);
    expect(names.length).toBeGreaterThan(100);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const name of names) {
      expect(name, name).toBe(name.toLowerCase());
      const { input_per_million: input, output_per_million: output } = DEFAULT_MODEL_PRICES[name]!;
      expect(Number.isFinite(input) && input >= 0 && input <= 1e6, `${name} input ${input}`).toBe(true);
      expect(Number.isFinite(output) && output >= 0 && output <= 1e6, `${name} output ${output}`).toBe(true);
    }
    expect(Object.isFrozen(DEFAULT_MODEL_PRICES)).toBe(true);
    expect(Object.isFrozen(DEFAULT_MODEL_PRICES['gpt-4o-mini'])).toBe(true);
  });
});

describe('priceOf', () => {
  it('finds a name as given, then lower-cased', () => {
    expect(priceOf(TABLE, 'gpt-4o')).toBe(TABLE['gpt-4o']);
    expect(priceOf(TABLE, 'Org/Custom-Model')).toBe(TABLE['Org/Custom-Model']);
    expect(priceOf(TABLE, 'GPT-4o-Mini')).toBe(TABLE['gpt-4o-mini']);
    expect(priceOf(TABLE, '  gpt-4o  ')).toBe(TABLE['gpt-4o']);
  });

  it('drops a provider prefix', () => {
    expect(priceOf(TABLE, 'openai/gpt-4o')).toBe(TABLE['gpt-4o']);
    expect(priceOf(TABLE, 'models/gemini-1.5-flash')).toBe(TABLE['gemini-1.5-flash']);
    expect(priceOf(TABLE, 'accounts/acme/models/gpt-4o-mini')).toBe(TABLE['gpt-4o-mini']);
    expect(priceOf(TABLE, 'anthropic.claude-3-5-sonnet')).toBe(TABLE['claude-3-5-sonnet']);
    expect(priceOf(TABLE, 'cohere.command-r')).toBe(TABLE['command-r']);
  });

  it('drops date and version suffixes', () => {
    expect(priceOf(TABLE, 'gpt-4o-2024-08-06')).toBe(TABLE['gpt-4o']);
    expect(priceOf(TABLE, 'gpt-4o-mini-2024-07-18')).toBe(TABLE['gpt-4o-mini']);
    expect(priceOf(TABLE, 'claude-3-5-sonnet-20240620')).toBe(TABLE['claude-3-5-sonnet']);
    expect(priceOf(TABLE, 'claude-3-5-sonnet-latest')).toBe(TABLE['claude-3-5-sonnet']);
    expect(priceOf(TABLE, 'claude-3-5-sonnet@20240620')).toBe(TABLE['claude-3-5-sonnet']);
    expect(priceOf(TABLE, 'claude-3-5-sonnet-v2@20241022')).toBe(TABLE['claude-3-5-sonnet']);
    expect(priceOf(TABLE, 'command-r-08-2024')).toBe(TABLE['command-r']);
    expect(priceOf(TABLE, 'mistral-large-2411')).toBe(TABLE['mistral-large']);
    // Prefix and suffixes together, as Bedrock names them.
    expect(priceOf(TABLE, 'anthropic.claude-3-5-sonnet-20240620-v1:0')).toBe(TABLE['claude-3-5-sonnet']);
    expect(priceOf(TABLE, 'us.anthropic.claude-3-5-sonnet-20240620-v1:0')).toBe(TABLE['claude-3-5-sonnet']);
  });

  it('prefers an exact dated entry to the undated one', () => {
    expect(priceOf(TABLE, 'gpt-4o-2024-05-13')).toBe(TABLE['gpt-4o-2024-05-13']);
    expect(priceOf(TABLE, 'openai/gpt-4o-2024-05-13')).toBe(TABLE['gpt-4o-2024-05-13']);
    expect(priceOf(TABLE, 'azure.gpt-4o-2024-05-13-v1:0')).toBe(TABLE['gpt-4o-2024-05-13']);
    expect(priceOf(TABLE, 'gpt-4o-2024-05-13@eu')).toBe(TABLE['gpt-4o-2024-05-13']);
  });

  it('falls back to the longest name the model name starts with, up to a - : or @', () => {
    expect(priceOf(TABLE, 'gemini-1.5-flash-002')).toBe(TABLE['gemini-1.5-flash']);
    expect(priceOf(TABLE, 'gpt-4o-mini-search-preview')).toBe(TABLE['gpt-4o-mini']);
    expect(priceOf(TABLE, 'gpt-4o:extended')).toBe(TABLE['gpt-4o']);
    expect(priceOf(TABLE, 'gpt-4o@eu')).toBe(TABLE['gpt-4o']);
    expect(priceOf(TABLE, 'models/gemini-1.5-flash-8b-exp')).toBe(TABLE['gemini-1.5-flash']);
  });

  it('does not stretch a name into another model', () => {
    expect(priceOf(TABLE, 'gpt-4')).toBeUndefined();
    expect(priceOf(TABLE, 'gpt-4omni')).toBeUndefined();
    expect(priceOf(TABLE, 'gpt-4o.5')).toBeUndefined();
    expect(priceOf(TABLE, 'xgpt-4o')).toBeUndefined();
    expect(priceOf(TABLE, 'gpt-4.1')).toBeUndefined();
    expect(priceOf(TABLE, 'org/custom-model-v2')).toBeUndefined(); // the mixed-case key matches only as written
    expect(priceOf(TABLE, '')).toBeUndefined();
    expect(priceOf(TABLE, null)).toBeUndefined();
    expect(priceOf(TABLE, undefined)).toBeUndefined();
    expect(priceOf({}, 'gpt-4o')).toBeUndefined();
  });

  it('finds none of Object’s members', () => {
    for (const name of [
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'openai/constructor',
      'constructor-2024-01-01',
      'toString:latest',
    ]) {
      expect(priceOf(TABLE, name), name).toBeUndefined();
      expect(priceOf(DEFAULT_MODEL_PRICES, name), name).toBeUndefined();
      expect(priceOf(withDefaultPrices({}), name), name).toBeUndefined();
      expect(costUsd(TABLE, name, 10, 10), name).toBeNull();
    }
  });

  it('finds a model named after one of Object’s members when the table has it', () => {
    const table = Object.create(null) as Record<string, ModelPrice>;
    table['__proto__'] = price(1, 2);
    table['constructor'] = price(3, 4);
    expect(priceOf(table, '__proto__')).toEqual(price(1, 2));
    expect(priceOf(table, 'Constructor')).toEqual(price(3, 4));
    expect(priceOf(table, 'constructor-v2')).toEqual(price(3, 4));
  });

  it('stays quick on a long hostile name', () => {
    const name = `${'-2024'.repeat(20_000)}@${'x'.repeat(100_000)}`;
    const started = performance.now();
    expect(priceOf(DEFAULT_MODEL_PRICES, name)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('withDefaultPrices', () => {
  it('keeps the built-in prices and adds new models', () => {
    const merged = withDefaultPrices({ 'my-finetune': price(1, 2) });
    expect(priceOf(merged, 'my-finetune')).toEqual(price(1, 2));
    expect(priceOf(merged, 'gpt-4o-mini')).toEqual(DEFAULT_MODEL_PRICES['gpt-4o-mini']);
    expect(Object.keys(merged)).toHaveLength(Object.keys(DEFAULT_MODEL_PRICES).length + 1);
  });

  it('lets overrides win, whatever their case', () => {
    const merged = withDefaultPrices({ 'GPT-4o-Mini': price(1, 2), 'claude-sonnet-4': price(3, 4), 'llama3.1:8b': price(0, 0) });
    expect(priceOf(merged, 'gpt-4o-mini')).toEqual(price(1, 2));
    expect(priceOf(merged, 'openai/gpt-4o-mini-2024-07-18')).toEqual(price(1, 2));
    expect(priceOf(merged, 'claude-sonnet-4')).toEqual(price(3, 4));
    expect(priceOf(merged, 'llama3.1:8b')).toEqual(price(0, 0));
    expect(costUsd(merged, 'llama3.1:8b', 1000, 1000)).toBe(0);
    // The built-in dated name reduces to the override; another model of the family keeps its price.
    expect(Object.hasOwn(DEFAULT_MODEL_PRICES, 'gpt-4o-mini-2024-07-18')).toBe(true);
    expect(priceOf(merged, 'gpt-4o-mini-2024-07-18')).toEqual(price(1, 2));
    expect(priceOf(merged, 'gpt-4o-mini-tts')).toEqual(DEFAULT_MODEL_PRICES['gpt-4o-mini-tts']);
    expect(priceOf(merged, 'gpt-4o-mini-tts')).not.toEqual(price(1, 2));
    // The built-in table itself is untouched.
    expect(DEFAULT_MODEL_PRICES['gpt-4o-mini']).not.toEqual(price(1, 2));
    expect(Object.hasOwn(DEFAULT_MODEL_PRICES, 'llama3.1:8b')).toBe(false);
  });

  it('prefers the lower-case override of two that differ only in case', () => {
    expect(priceOf(withDefaultPrices({ 'gpt-4o': price(1, 1), 'GPT-4o': price(2, 2) }), 'gpt-4o')).toEqual(price(1, 1));
    expect(priceOf(withDefaultPrices({ 'GPT-4o': price(2, 2), 'gpt-4o': price(1, 1) }), 'GPT-4O')).toEqual(price(1, 1));
  });

  it('gives a table without a prototype, in which __proto__ is a model like any other', () => {
    const overrides = Object.create(null) as Record<string, ModelPrice>;
    overrides['__proto__'] = price(5, 6);
    const merged = withDefaultPrices(overrides);
    expect(Object.getPrototypeOf(merged)).toBeNull();
    expect(Object.hasOwn(merged, '__proto__')).toBe(true);
    expect(priceOf(merged, '__proto__')).toEqual(price(5, 6));
    expect(priceOf(merged, 'toString')).toBeUndefined();
  });
});

describe('costUsd', () => {
  it('computes input and output costs exactly', () => {
    expect(costUsd(TABLE, 'gpt-4o', 1000, 500)).toBe(0.0075);
    expect(costUsd(TABLE, 'gpt-4o', 1_000_000, 1_000_000)).toBe(12.5);
    expect(costUsd(TABLE, 'openai/gpt-4o-2024-08-06', 2_000_000, 0)).toBe(5);
    expect(costUsd(TABLE, 'gpt-4o-2024-05-13', 1_000_000, 1_000_000)).toBe(20);
    expect(costUsd(TABLE, 'gpt-4o-mini', 0, 1_000_000)).toBe(0.6);
  });

  it('counts unknown tokens as none, and gives null for an unpriced model or no tokens at all', () => {
    expect(costUsd(TABLE, 'gpt-4o', null, 1_000_000)).toBe(10);
    expect(costUsd(TABLE, 'gpt-4o', 1_000_000, undefined)).toBe(2.5);
    // A call that reports no tokens at all has no known cost, not a cost of zero.
    expect(costUsd(TABLE, 'gpt-4o', null, null)).toBeNull();
    expect(costUsd(TABLE, 'unknown-model', 1000, 1000)).toBeNull();
    expect(costUsd(TABLE, null, 1000, 1000)).toBeNull();
  });

  it('prices the demo models from the built-in table', () => {
    for (const model of ['gpt-4o-mini', 'claude-sonnet-4', 'mistral-small', 'text-embedding-3-small']) {
      const { input_per_million: input, output_per_million: output } = priceOf(DEFAULT_MODEL_PRICES, model)!;
      expect(costUsd(DEFAULT_MODEL_PRICES, model, 1_000_000, 1_000_000), model).toBe(input + output);
      expect(costUsd(DEFAULT_MODEL_PRICES, model, 2_000_000, 0), model).toBe(2 * input);
    }
  });
});
