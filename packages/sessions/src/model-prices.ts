/** What model calls cost: one price table shared by the metrics and the web page. */

/** Price of a model, in USD per million tokens. */
export interface ModelPrice {
  readonly input_per_million: number;
  readonly output_per_million: number;
}

/** Prices by model name, as the receiver's `model_prices` setting gives them. */
export type ModelPrices = Readonly<Record<string, ModelPrice>>;

/**
 * The cost in USD of `input` and `output` tokens of `model`; `null` when the model has no price
 * (unknown tokens count as none).
 */
export function costUsd(prices: ModelPrices, model: string | null | undefined, input: number | null | undefined, output: number | null | undefined): number | null {
  // Own entries only: a model named `constructor` or `__proto__` must not find Object's members.
  const price = model && Object.hasOwn(prices, model) ? prices[model] : undefined;
  if (!price) return null;
  return ((input ?? 0) * price.input_per_million + (output ?? 0) * price.output_per_million) / 1e6;
}
