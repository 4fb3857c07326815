/** What model calls cost: one price table shared by the metrics and the web page. */

import { DEFAULT_MODEL_PRICES } from './default-prices.js';

/** Price of a model, in USD per million tokens. */
export interface ModelPrice {
  readonly input_per_million: number;
  readonly output_per_million: number;
}

/** Prices by model name, as the receiver's `model_prices` setting gives them. */
export type ModelPrices = Readonly<Record<string, ModelPrice>>;

/** Own entries only: a model named `constructor` or `__proto__` must not find Object's members. */
function own(prices: ModelPrices, name: string): ModelPrice | undefined {
  return Object.hasOwn(prices, name) ? prices[name] : undefined;
}

/**
 * Provider prefixes: a path (`openai/gpt-4o`, `models/gemini-…`, `accounts/x/models/…`: all up to
 * the last `/`), or dotted words as on Bedrock (`anthropic.claude-…`, `us.anthropic.claude-…`).
 * Dotted prefixes are letters only, so a version such as `gpt-4.1` is never taken for one.
 */
const PROVIDER_PREFIX = /^(?:.*\/|(?:[a-z]+(?:-[a-z]+)*\.)+(?=[a-z]))/;

/**
 * Date and version suffixes, stripped one at a time from the end: `-2024-08-06`, `-20240620`,
 * `-08-2024`, `-0613` / `-2411`, `-latest`, `@20240620` (anything after `@`), `-v1:0` / `-v2`.
 */
const VERSION_SUFFIX = /(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{2}-\d{4}|-\d{4}|-latest|@[^@]*|-v\d+(?::\d+)?)$/;

/**
 * The names to look `model` up by, most specific first: lower-cased; without its provider prefix;
 * then without one more version suffix at a time (`claude-3-5-sonnet-20240620-v1:0`, then
 * `claude-3-5-sonnet-20240620`, then `claude-3-5-sonnet`). A few suffixes at most: real names carry
 * two or three, and a hostile name must not cost a pass per character.
 */
function reducedNames(model: string): string[] {
  const lower = model.trim().toLowerCase();
  const bare = lower.replace(PROVIDER_PREFIX, '') || lower;
  const names = [lower, bare];
  for (let current = bare, pass = 0; pass < 4; pass += 1) {
    const stripped = current.replace(VERSION_SUFFIX, '');
    if (stripped === current || stripped === '') break;
    names.push((current = stripped));
  }
  return names;
}

/**
 * The price of `model` in `prices`, trying in turn: the name as given; lower-cased; without a
 * provider prefix (`openai/gpt-4o`, `anthropic.claude-…`, `models/gemini-…`); without date and
 * version suffixes (`gpt-4o-2024-08-06`, `claude-3-5-sonnet-20240620`, `-latest`, `@20240620`,
 * `-v1:0`); and last the longest name in the table that the model's name starts with, followed by
 * `-`, `:` or `@` (`gemini-1.5-flash-002` → `gemini-1.5-flash`). Only the table's own entries count,
 * so a model named `__proto__` or `constructor` finds nothing of `Object`'s. `undefined` when
 * nothing matches (or there is no model name).
 */
export function priceOf(prices: ModelPrices, model: string | null | undefined): ModelPrice | undefined {
  if (!model) return undefined;
  const exact = own(prices, model);
  if (exact) return exact;
  const names = reducedNames(model);
  for (const name of names) {
    const price = own(prices, name);
    if (price) return price;
  }
  const bare = names[1]!;
  // The longest family name: scan the table (its size bounds the work, whatever the model name's length).
  let best: string | undefined;
  for (const key of Object.keys(prices)) {
    if (key.length >= bare.length || (best !== undefined && key.length <= best.length) || !bare.startsWith(key)) continue;
    const next = bare.charAt(key.length);
    if (next === '-' || next === ':' || next === '@') best = key;
  }
  return best === undefined ? undefined : own(prices, best);
}

/**
 * The built-in table ({@link DEFAULT_MODEL_PRICES}) with `overrides` (the `model_prices` setting) on
 * top. Overrides win: an override's name is stored lower-cased (`priceOf` lower-cases the names it
 * looks up), and it replaces the built-in entries of that name and of the names that reduce to it
 * by {@link priceOf}'s rules short of the prefix one, so `gpt-4o-mini` also prices the built-in
 * `gpt-4o-mini-2024-07-18` but not `gpt-4o-mini-tts`. A fresh object without a prototype, so a
 * model named `__proto__` is an entry like any other.
 */
export function withDefaultPrices(overrides: ModelPrices): ModelPrices {
  const names = Object.keys(overrides);
  const overridden = new Set(names.map((name) => name.toLowerCase()));
  const merged = Object.create(null) as Record<string, ModelPrice>;
  for (const [name, price] of Object.entries(DEFAULT_MODEL_PRICES)) {
    if (!reducedNames(name).some((reduced) => overridden.has(reduced))) merged[name] = price;
  }
  // Mixed-case names first, so that of `GPT-4o` and `gpt-4o` the lower-case one wins.
  for (const name of [...names.filter((key) => key !== key.toLowerCase()), ...names.filter((key) => key === key.toLowerCase())]) {
    merged[name.toLowerCase()] = overrides[name]!;
  }
  return merged;
}

/**
 * The cost in USD of `input` and `output` tokens of `model`, priced by {@link priceOf}; `null` when
 * the model has no price (unknown tokens count as none).
 */
export function costUsd(
  prices: ModelPrices,
  model: string | null | undefined,
  input: number | null | undefined,
  output: number | null | undefined,
): number | null {
  const price = priceOf(prices, model);
  // Nothing known of its tokens is no cost known: not zero.
  if (!price || ((input ?? null) === null && (output ?? null) === null)) return null;
  return ((input ?? 0) * price.input_per_million + (output ?? 0) * price.output_per_million) / 1e6;
}
