// GENERATED FILE: do not edit by hand. Regenerate with
//   pnpm --filter @llm-monitor/sessions update-prices
// (packages/sessions/scripts/update-default-prices.mjs), which rewrites it from the npm package
// @pydantic/genai-prices@0.1.8, published 2026-09-23. Overrides belong in the `model_prices` setting.
//
// How the table is made:
// - Providers, in order of precedence (the first to price a name keeps it): openai, anthropic, google, mistral, cohere, deepseek, x-ai, groq, together (^meta-llama/ only).
// - Names: each model's id and the literal names of its match rules (equals, starts_with, contains,
//   ends_with; not those stopping inside a date or number), lower-cased, each priced by the
//   package's own calcPrice for that provider; a `starts_with: x-` rule gives the name `x`.
// - Dated and time-of-day prices: the ones in force at noon UTC on 2026-09-23.
// - Tiered prices (a higher rate above a prompt size): the base rate, marked "tiered" below.
// - Models priced only for input (embeddings): output 0, marked "input only".
// - A name listed only as `x-latest` is also written as `x` when `x` has a hyphen, marked "as x-latest".
// - Only plain input and output token rates: cache, audio, image and per-request rates are left out.
//
// The price data is from @pydantic/genai-prices under this licence:
//   The MIT License (MIT)
//
//   Copyright (c) Pydantic Services Inc. 2025 to present
//
//   Permission is hereby granted, free of charge, to any person obtaining a copy
//   of this software and associated documentation files (the "Software"), to deal
//   in the Software without restriction, including without limitation the rights
//   to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
//   copies of the Software, and to permit persons to whom the Software is
//   furnished to do so, subject to the following conditions:
//
//   The above copyright notice and this permission notice shall be included in all
//   copies or substantial portions of the Software.
//
//   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
//   IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
//   FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
//   AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
//   LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
//   OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
//   SOFTWARE.

import type { ModelPrice, ModelPrices } from './model-prices.js';

/** The package, version and publication day (UTC) of {@link DEFAULT_MODEL_PRICES}. */
export const DEFAULT_PRICES_SOURCE = { package: '@pydantic/genai-prices', version: '0.1.8', date: '2026-09-23' } as const;

const price = (input: number, output: number): ModelPrice => Object.freeze({ input_per_million: input, output_per_million: output });

/**
 * The built-in price table (518 model names): USD per million input and output tokens, from
 * @pydantic/genai-prices@0.1.8 (2026-09-23). The `model_prices` setting overrides it (see `withDefaultPrices`).
 */
export const DEFAULT_MODEL_PRICES: ModelPrices = Object.freeze({
  'ada': price(0.4, 0.4), // openai
  'anthropic/claude-sonnet-4': price(3, 15), // google claude-4-sonnet
  'aya-expanse-32b': price(0.5, 1.5), // cohere c4ai-aya-expanse-32b
  'aya-expanse-8b': price(0.5, 1.5), // cohere c4ai-aya-expanse-8b
  'babbage': price(0.5, 0.5), // openai
  'c4ai-aya-expanse-32b': price(0.5, 1.5), // cohere
  'c4ai-aya-expanse-8b': price(0.5, 1.5), // cohere
  'chatgpt-4o': price(5, 15), // openai chatgpt-4o-latest; as chatgpt-4o-latest
  'chatgpt-4o-latest': price(5, 15), // openai
  'claude-2': price(8, 24), // anthropic
  'claude-3-5-haiku': price(0.8, 4), // anthropic claude-3-5-haiku-latest
  'claude-3-5-haiku-latest': price(0.8, 4), // anthropic
  'claude-3-5-sonnet': price(3, 15), // anthropic
  'claude-3-7-sonnet': price(3, 15), // anthropic claude-3-7-sonnet-latest
  'claude-3-7-sonnet-latest': price(3, 15), // anthropic
  'claude-3-haiku': price(0.25, 1.25), // anthropic
  'claude-3-opus': price(15, 75), // anthropic claude-3-opus-latest
  'claude-3-opus-latest': price(15, 75), // anthropic
  'claude-3-sonnet': price(3, 15), // anthropic
  'claude-3.5-haiku': price(0.8, 4), // anthropic claude-3-5-haiku-latest
  'claude-3.5-sonnet': price(3, 15), // anthropic claude-3-5-sonnet
  'claude-3.7-sonnet': price(3, 15), // anthropic claude-3-7-sonnet-latest
  'claude-4-5-haiku': price(1, 5), // anthropic claude-haiku-4-5
  'claude-4-5-opus': price(5, 25), // anthropic claude-opus-4-5
  'claude-4-6-opus': price(5, 25), // anthropic claude-opus-4-6
  'claude-4-7-opus': price(5, 25), // anthropic claude-opus-4-7
  'claude-4-8-opus': price(5, 25), // anthropic claude-opus-4-8
  'claude-4-opus': price(15, 75), // anthropic claude-opus-4-0
  'claude-4-sonnet': price(3, 15), // anthropic claude-sonnet-4-0
  'claude-4.5-haiku': price(1, 5), // anthropic claude-haiku-4-5
  'claude-4.5-opus': price(5, 25), // anthropic claude-opus-4-5
  'claude-4.6-opus': price(5, 25), // anthropic claude-opus-4-6
  'claude-4.7-opus': price(5, 25), // anthropic claude-opus-4-7
  'claude-4.8-opus': price(5, 25), // anthropic claude-opus-4-8
  'claude-5-5-opus': price(4, 20), // anthropic claude-opus-5-5
  'claude-5-opus': price(5, 25), // anthropic claude-opus-5
  'claude-5-sonnet': price(2, 10), // anthropic claude-sonnet-5
  'claude-5.0-opus': price(5, 25), // anthropic claude-opus-5
  'claude-5.0-sonnet': price(2, 10), // anthropic claude-sonnet-5
  'claude-5.5-opus': price(4, 20), // anthropic claude-opus-5-5
  'claude-fable-5': price(10, 50), // anthropic
  'claude-fable-5-1': price(10, 50), // anthropic
  'claude-haiku-4-5': price(1, 5), // anthropic
  'claude-haiku-4.5': price(1, 5), // anthropic claude-haiku-4-5
  'claude-opus-4': price(15, 75), // anthropic claude-opus-4-0
  'claude-opus-4-0': price(15, 75), // anthropic
  'claude-opus-4-1': price(15, 75), // anthropic
  'claude-opus-4-20250514': price(15, 75), // anthropic claude-opus-4-0
  'claude-opus-4-5': price(5, 25), // anthropic
  'claude-opus-4-6': price(5, 25), // anthropic
  'claude-opus-4-7': price(5, 25), // anthropic
  'claude-opus-4-8': price(5, 25), // anthropic
  'claude-opus-4.1': price(15, 75), // anthropic claude-opus-4-1
  'claude-opus-4.5': price(5, 25), // anthropic claude-opus-4-5
  'claude-opus-4.6': price(5, 25), // anthropic claude-opus-4-6
  'claude-opus-4.7': price(5, 25), // anthropic claude-opus-4-7
  'claude-opus-4.8': price(5, 25), // anthropic claude-opus-4-8
  'claude-opus-5': price(5, 25), // anthropic
  'claude-opus-5-5': price(4, 20), // anthropic
  'claude-opus-5.0': price(5, 25), // anthropic claude-opus-5
  'claude-opus-5.5': price(4, 20), // anthropic claude-opus-5-5
  'claude-sonnet-3-7': price(3, 15), // anthropic claude-3-7-sonnet-latest
  'claude-sonnet-3.7': price(3, 15), // anthropic claude-3-7-sonnet-latest
  'claude-sonnet-4': price(3, 15), // anthropic claude-sonnet-4-0
  'claude-sonnet-4-0': price(3, 15), // anthropic
  'claude-sonnet-4-5': price(3, 15), // anthropic; tiered: base rate, higher from 200000 tokens
  'claude-sonnet-4-6': price(3, 15), // anthropic
  'claude-sonnet-4.5': price(3, 15), // anthropic claude-sonnet-4-5; tiered: base rate, higher from 200000 tokens
  'claude-sonnet-4.6': price(3, 15), // anthropic claude-sonnet-4-6
  'claude-sonnet-5': price(2, 10), // anthropic
  'claude-sonnet-5.0': price(2, 10), // anthropic claude-sonnet-5
  'claude-v1': price(8, 24), // anthropic
  'claude-v2': price(8, 24), // anthropic claude-2
  'codestral-2501': price(0.3, 0.9), // mistral codestral
  'codestral-2508': price(0.3, 0.9), // mistral
  'codestral-latest': price(0.3, 0.9), // mistral codestral
  'codex-mini': price(1.5, 6), // openai
  'codex-mini-latest': price(1.5, 6), // openai codex-mini
  'command': price(1, 2), // cohere
  'command-a': price(2.5, 10), // cohere
  'command-a-03-2025': price(2.5, 10), // cohere command-a
  'command-light': price(0.3, 0.6), // cohere
  'command-r': price(0.15, 0.6), // cohere
  'command-r-08-2024': price(0.15, 0.6), // cohere command-r
  'command-r-plus': price(2.5, 10), // cohere
  'command-r-plus-08-2024': price(2.5, 10), // cohere command-r-plus
  'command-r7b': price(0.0375, 0.15), // cohere
  'command-r7b-12-2024': price(0.0375, 0.15), // cohere command-r7b
  'computer-use': price(3, 12), // openai
  'curie': price(2, 2), // openai
  'davinci': price(20, 20), // openai
  'deepseek-chat': price(0.27, 1.1), // deepseek
  'deepseek-chat-v3-0324': price(0.27, 1.1), // deepseek deepseek-chat
  'deepseek-r1': price(0.55, 2.19), // deepseek deepseek-reasoner
  'deepseek-r1-0528': price(0.55, 2.19), // deepseek deepseek-reasoner
  'deepseek-r1-distill-llama-70b': price(0.75, 0.99), // groq
  'deepseek-reasoner': price(0.55, 2.19), // deepseek
  'deepseek-v3.1-terminus': price(0.27, 0.95), // deepseek
  'deepseek-v3.2': price(0.2288, 0.3432), // deepseek
  'deepseek-v3.2-exp': price(0.27, 0.41), // deepseek
  'deepseek-v4-flash': price(0.22, 0.66), // deepseek
  'deepseek-v4-pro': price(0.66, 1.98), // deepseek
  'devstral-2512': price(0.4, 2), // mistral
  'devstral-small': price(0.1, 0.3), // mistral
  'devstral-small-2505': price(0.1, 0.3), // mistral devstral-small
  'devstral-small-2507': price(0.1, 0.3), // mistral devstral-small
  'devstral-small-latest': price(0.1, 0.3), // mistral devstral-small
  'embed-v4.0': price(0.12, 0), // cohere; input only
  'ft:gpt-3.5-turbo': price(3, 6), // openai ft:gpt-3.5-turbo-
  'ft:gpt-4o-2024': price(3.75, 15), // openai ft:gpt-4o
  'ft:gpt-4o-mini-2024': price(0.3, 1.2), // openai ft:gpt-4o-mini
  'gemini-1.0-pro': price(0.125, 0.375), // google gemini-pro
  'gemini-1.0-pro-vision-001': price(0.125, 0.375), // google
  'gemini-1.5-flash': price(0.075, 0.3), // google; tiered: base rate, higher from 128000 tokens
  'gemini-1.5-pro': price(1.25, 5), // google; tiered: base rate, higher from 128000 tokens
  'gemini-2.0-flash': price(0.1, 0.4), // google
  'gemini-2.0-flash-exp': price(0.1, 0.4), // google gemini-2.0-flash
  'gemini-2.0-flash-latest': price(0.1, 0.4), // google gemini-2.0-flash
  'gemini-2.0-flash-lite': price(0.075, 0.3), // google
  'gemini-2.0-flash-thinking': price(0.1, 0.4), // google gemini-2.0-flash
  'gemini-2.5-flash': price(0.3, 2.5), // google
  'gemini-2.5-flash-image': price(0.3, 2.5), // google
  'gemini-2.5-flash-image-preview': price(0.3, 2.5), // google gemini-2.5-flash-image
  'gemini-2.5-flash-latest': price(0.3, 2.5), // google gemini-2.5-flash
  'gemini-2.5-flash-lite': price(0.1, 0.4), // google
  'gemini-2.5-flash-lite-preview-tts': price(0.5, 10), // google
  'gemini-2.5-flash-native-audio': price(0.5, 2), // google gemini-live-2.5-flash; as gemini-2.5-flash-native-audio-latest
  'gemini-2.5-flash-native-audio-latest': price(0.5, 2), // google gemini-live-2.5-flash
  'gemini-2.5-flash-native-audio-preview': price(0.5, 2), // google gemini-live-2.5-flash
  'gemini-2.5-flash-preview': price(0.15, 0.6), // google
  'gemini-2.5-flash-preview-04-17': price(0.15, 0.6), // google gemini-2.5-flash-preview
  'gemini-2.5-flash-preview-05-20': price(0.15, 0.6), // google gemini-2.5-flash-preview
  'gemini-2.5-flash-preview-05-20:thinking': price(0.15, 0.6), // google gemini-2.5-flash-preview
  'gemini-2.5-flash-preview-09-2025': price(0.3, 2.5), // google gemini-2.5-flash
  'gemini-2.5-flash-preview-tts': price(0.5, 10), // google gemini-2.5-flash-tts
  'gemini-2.5-flash-preview:thinking': price(0.15, 0.6), // google gemini-2.5-flash-preview
  'gemini-2.5-flash-tts': price(0.5, 10), // google
  'gemini-2.5-pro': price(1.25, 10), // google; tiered: base rate, higher from 200000 tokens
  'gemini-2.5-pro-preview-tts': price(1, 20), // google gemini-2.5-pro-tts
  'gemini-2.5-pro-tts': price(1, 20), // google
  'gemini-3-flash-preview': price(0.5, 3), // google
  'gemini-3-pro-image': price(2, 12), // google gemini-3-pro-image-preview
  'gemini-3-pro-image-preview': price(2, 12), // google
  'gemini-3-pro-preview': price(2, 12), // google; tiered: base rate, higher from 200000 tokens
  'gemini-3-pro-text-preview': price(2, 12), // google gemini-3-pro-preview; tiered: base rate, higher from 200000 tokens
  'gemini-3.1-flash-image': price(0.5, 3), // google gemini-3.1-flash-image-preview
  'gemini-3.1-flash-image-preview': price(0.5, 3), // google
  'gemini-3.1-flash-lite': price(0.25, 1.5), // google
  'gemini-3.1-flash-lite-image': price(0.25, 1.5), // google
  'gemini-3.1-flash-lite-preview': price(0.25, 1.5), // google gemini-3.1-flash-lite
  'gemini-3.1-flash-live-preview': price(0.75, 4.5), // google
  'gemini-3.1-pro-preview': price(2, 12), // google; tiered: base rate, higher from 200000 tokens
  'gemini-3.5-flash': price(1.5, 9), // google
  'gemini-3.5-flash-lite': price(0.3, 2.5), // google
  'gemini-3.5-flash-preview': price(1.5, 9), // google gemini-3.5-flash
  'gemini-3.6-flash': price(0.75, 3.75), // google
  'gemini-3.7-flash': price(0.75, 3.75), // google
  'gemini-3.8-flash': price(0.75, 3.75), // google
  'gemini-embedding-001': price(0.15, 0), // google; input only
  'gemini-embedding-2': price(0.2, 0), // google; input only
  'gemini-flash-1.5': price(0.075, 0.3), // google; tiered: base rate, higher from 128000 tokens
  'gemini-flash-1.5-8b': price(0.0375, 0.15), // google; tiered: base rate, higher from 128000 tokens
  'gemini-live-2.5-flash': price(0.5, 2), // google
  'gemini-omni-flash-preview': price(1.5, 9), // google
  'gemini-pro': price(0.125, 0.375), // google
  'gemini-pro-1.5': price(1.25, 5), // google; tiered: base rate, higher from 128000 tokens
  'gemma-2-27b-it': price(0.65, 0.65), // google
  'gemma-4-26b-a4b-it-maas': price(0.15, 0.6), // google
  'gemma-7b-it': price(0.07, 0.07), // groq
  'gemma2-9b': price(0.2, 0.2), // groq gemma2-9b-it
  'gemma2-9b-it': price(0.2, 0.2), // groq
  'gpt-3.5-0301': price(1.5, 2), // openai
  'gpt-3.5-turbo': price(0.5, 1.5), // openai
  'gpt-3.5-turbo-0125': price(0.5, 1.5), // openai gpt-3.5-turbo
  'gpt-3.5-turbo-0301': price(1.5, 2), // openai gpt-3.5-0301
  'gpt-3.5-turbo-0613': price(1.5, 2), // openai
  'gpt-3.5-turbo-1106': price(1, 2), // openai
  'gpt-3.5-turbo-16k': price(3, 4), // openai
  'gpt-3.5-turbo-16k-0613': price(3, 4), // openai gpt-3.5-turbo-16k
  'gpt-3.5-turbo-instruct': price(1.5, 2), // openai
  'gpt-3.5-turbo-instruct-0914': price(1.5, 2), // openai gpt-3.5-turbo-instruct
  'gpt-35-turbo': price(0.5, 1.5), // openai gpt-3.5-turbo
  'gpt-35-turbo-16k': price(3, 4), // openai gpt-3.5-turbo-16k
  'gpt-35-turbo-16k-0613': price(3, 4), // openai gpt-3.5-turbo-16k
  'gpt-4': price(30, 60), // openai
  'gpt-4-0125-preview': price(10, 30), // openai gpt-4-turbo
  'gpt-4-0314': price(30, 60), // openai gpt-4
  'gpt-4-0613': price(30, 60), // openai gpt-4
  'gpt-4-1106-preview': price(10, 30), // openai gpt-4-turbo
  'gpt-4-1106-vision-preview': price(10, 30), // openai gpt-4-vision-preview
  'gpt-4-32k': price(60, 120), // openai
  'gpt-4-32k-0314': price(60, 120), // openai gpt-4-32k
  'gpt-4-32k-0613': price(60, 120), // openai gpt-4-32k
  'gpt-4-turbo': price(10, 30), // openai
  'gpt-4-turbo-0125-preview': price(10, 30), // openai gpt-4-turbo
  'gpt-4-turbo-2024-04-09': price(10, 30), // openai gpt-4-turbo
  'gpt-4-turbo-preview': price(10, 30), // openai gpt-4-turbo
  'gpt-4-vision-preview': price(10, 30), // openai
  'gpt-4.1': price(2, 8), // openai
  'gpt-4.1-2025-04-14': price(2, 8), // openai gpt-4.1
  'gpt-4.1-mini': price(0.4, 1.6), // openai
  'gpt-4.1-mini-2025-04-14': price(0.4, 1.6), // openai gpt-4.1-mini
  'gpt-4.1-nano': price(0.1, 0.4), // openai
  'gpt-4.1-nano-2025-04-14': price(0.1, 0.4), // openai gpt-4.1-nano
  'gpt-4.5-preview': price(75, 150), // openai
  'gpt-4o': price(2.5, 10), // openai
  'gpt-4o-2024-05-13': price(5, 15), // openai
  'gpt-4o-2024-08-06': price(2.5, 10), // openai gpt-4o
  'gpt-4o-2024-11-20': price(2.5, 10), // openai gpt-4o
  'gpt-4o-audio-preview': price(2.5, 10), // openai
  'gpt-4o-mini': price(0.15, 0.6), // openai
  'gpt-4o-mini-2024-07-18': price(0.15, 0.6), // openai gpt-4o-mini
  'gpt-4o-mini-2024-07-18.ft': price(0.3, 1.2), // openai gpt-4o-mini-2024-07-18.ft-
  'gpt-4o-mini-audio': price(0.15, 0.6), // openai gpt-4o-mini-audio-preview
  'gpt-4o-mini-audio-preview': price(0.15, 0.6), // openai
  'gpt-4o-mini-realtime': price(0.6, 2.4), // openai gpt-4o-mini-realtime-preview
  'gpt-4o-mini-realtime-preview': price(0.6, 2.4), // openai
  'gpt-4o-mini-search-preview': price(0.15, 0.6), // openai gpt-4o-mini
  'gpt-4o-mini-search-preview-2025-03-11': price(0.15, 0.6), // openai gpt-4o-mini
  'gpt-4o-mini-transcribe': price(1.25, 5), // openai
  'gpt-4o-mini-tts': price(0.6, 12), // openai
  'gpt-4o-realtime': price(5, 20), // openai gpt-4o-realtime-preview
  'gpt-4o-realtime-preview': price(5, 20), // openai
  'gpt-4o-search-preview': price(2.5, 10), // openai
  'gpt-4o-search-preview-2025-03-11': price(2.5, 10), // openai gpt-4o-search-preview
  'gpt-4o-transcribe': price(2.5, 10), // openai
  'gpt-4o-transcribe-diarize': price(2.5, 10), // openai gpt-4o-transcribe
  'gpt-4o:extended': price(6, 18), // openai
  'gpt-5': price(1.25, 10), // openai
  'gpt-5-1': price(1.25, 10), // openai gpt-5.1
  'gpt-5-1-2025-11-13': price(1.25, 10), // openai gpt-5.1
  'gpt-5-1-chat': price(1.25, 10), // openai gpt-5.1
  'gpt-5-1-chat-latest': price(1.25, 10), // openai gpt-5.1
  'gpt-5-1-codex': price(1.25, 10), // openai gpt-5.1
  'gpt-5-1-codex-max': price(1.25, 10), // openai gpt-5.1
  'gpt-5-1-codex-mini': price(0.25, 2), // openai gpt-5.1-codex-mini
  'gpt-5-1-mini': price(0.25, 2), // openai gpt-5.1-codex-mini
  'gpt-5-2': price(1.75, 14), // openai gpt-5.2
  'gpt-5-2-2025-12-11': price(1.75, 14), // openai gpt-5.2
  'gpt-5-2-chat': price(1.75, 14), // openai gpt-5.2
  'gpt-5-2-chat-latest': price(1.75, 14), // openai gpt-5.2
  'gpt-5-2-codex': price(1.75, 14), // openai gpt-5.2
  'gpt-5-2-pro-2025-12-11': price(21, 168), // openai gpt-5.2-pro
  'gpt-5-2025-08-07': price(1.25, 10), // openai gpt-5
  'gpt-5-3': price(1.75, 14), // openai gpt-5.3
  'gpt-5-3-chat': price(1.75, 14), // openai gpt-5.3
  'gpt-5-3-chat-latest': price(1.75, 14), // openai gpt-5.3
  'gpt-5-3-codex': price(1.75, 14), // openai gpt-5.3-codex
  'gpt-5-4': price(2.5, 15), // openai gpt-5.4; tiered: base rate, higher from 271999 tokens
  'gpt-5-4-2026-03-05': price(2.5, 15), // openai gpt-5.4; tiered: base rate, higher from 271999 tokens
  'gpt-5-4-mini': price(0.75, 4.5), // openai gpt-5.4-mini
  'gpt-5-4-mini-2026-03-17': price(0.75, 4.5), // openai gpt-5.4-mini
  'gpt-5-4-nano': price(0.2, 1.25), // openai gpt-5.4-nano
  'gpt-5-4-nano-2026-03-17': price(0.2, 1.25), // openai gpt-5.4-nano
  'gpt-5-4-pro': price(30, 180), // openai gpt-5.4-pro; tiered: base rate, higher from 271999 tokens
  'gpt-5-4-pro-2026-03-05': price(30, 180), // openai gpt-5.4-pro; tiered: base rate, higher from 271999 tokens
  'gpt-5-5': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5-5-2026-04-23': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5-5-2026-04-24': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5-5-chat': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5-5-chat-latest': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5-5-codex': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5-5-pro': price(30, 180), // openai gpt-5.5-pro; tiered: base rate, higher from 271999 tokens
  'gpt-5-5-pro-2026-04-23': price(30, 180), // openai gpt-5.5-pro; tiered: base rate, higher from 271999 tokens
  'gpt-5-6': price(4, 20), // openai gpt-5.6-sol; tiered: base rate, higher from 271999 tokens
  'gpt-5-6-luna': price(0.2, 1.2), // openai gpt-5.6-luna; tiered: base rate, higher from 271999 tokens
  'gpt-5-6-sol': price(4, 20), // openai gpt-5.6-sol; tiered: base rate, higher from 271999 tokens
  'gpt-5-6-terra': price(2, 12), // openai gpt-5.6-terra; tiered: base rate, higher from 271999 tokens
  'gpt-5-chat': price(1.25, 10), // openai gpt-5
  'gpt-5-chat-latest': price(1.25, 10), // openai gpt-5
  'gpt-5-codex': price(1.25, 10), // openai gpt-5
  'gpt-5-image': price(10, 10), // openai
  'gpt-5-image-mini': price(2.5, 2), // openai
  'gpt-5-mini': price(0.25, 2), // openai
  'gpt-5-mini-2025-08-07': price(0.25, 2), // openai gpt-5-mini
  'gpt-5-nano': price(0.05, 0.4), // openai
  'gpt-5-pro': price(15, 120), // openai
  'gpt-5-pro-2025-10-06': price(15, 120), // openai gpt-5-pro
  'gpt-5.1': price(1.25, 10), // openai
  'gpt-5.1-2025-11-13': price(1.25, 10), // openai gpt-5.1
  'gpt-5.1-chat': price(1.25, 10), // openai gpt-5.1
  'gpt-5.1-chat-latest': price(1.25, 10), // openai gpt-5.1
  'gpt-5.1-codex': price(1.25, 10), // openai gpt-5.1
  'gpt-5.1-codex-max': price(1.25, 10), // openai gpt-5.1
  'gpt-5.1-codex-mini': price(0.25, 2), // openai
  'gpt-5.1-mini': price(0.25, 2), // openai gpt-5.1-codex-mini
  'gpt-5.2': price(1.75, 14), // openai
  'gpt-5.2-2025-12-11': price(1.75, 14), // openai gpt-5.2
  'gpt-5.2-chat': price(1.75, 14), // openai gpt-5.2
  'gpt-5.2-chat-latest': price(1.75, 14), // openai gpt-5.2
  'gpt-5.2-codex': price(1.75, 14), // openai gpt-5.2
  'gpt-5.2-pro': price(21, 168), // openai
  'gpt-5.2-pro-2025-12-11': price(21, 168), // openai gpt-5.2-pro
  'gpt-5.3': price(1.75, 14), // openai
  'gpt-5.3-chat': price(1.75, 14), // openai gpt-5.3
  'gpt-5.3-chat-latest': price(1.75, 14), // openai gpt-5.3
  'gpt-5.3-codex': price(1.75, 14), // openai
  'gpt-5.4': price(2.5, 15), // openai; tiered: base rate, higher from 271999 tokens
  'gpt-5.4-2026-03-05': price(2.5, 15), // openai gpt-5.4; tiered: base rate, higher from 271999 tokens
  'gpt-5.4-image-2': price(8, 15), // openai
  'gpt-5.4-mini': price(0.75, 4.5), // openai
  'gpt-5.4-mini-2026-03-17': price(0.75, 4.5), // openai gpt-5.4-mini
  'gpt-5.4-nano': price(0.2, 1.25), // openai
  'gpt-5.4-nano-2026-03-17': price(0.2, 1.25), // openai gpt-5.4-nano
  'gpt-5.4-pro': price(30, 180), // openai; tiered: base rate, higher from 271999 tokens
  'gpt-5.4-pro-2026-03-05': price(30, 180), // openai gpt-5.4-pro; tiered: base rate, higher from 271999 tokens
  'gpt-5.5': price(5, 30), // openai; tiered: base rate, higher from 271999 tokens
  'gpt-5.5-2026-04-23': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5.5-2026-04-24': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5.5-chat': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5.5-chat-latest': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5.5-codex': price(5, 30), // openai gpt-5.5; tiered: base rate, higher from 271999 tokens
  'gpt-5.5-pro': price(30, 180), // openai; tiered: base rate, higher from 271999 tokens
  'gpt-5.5-pro-2026-04-23': price(30, 180), // openai gpt-5.5-pro; tiered: base rate, higher from 271999 tokens
  'gpt-5.6': price(4, 20), // openai gpt-5.6-sol; tiered: base rate, higher from 271999 tokens
  'gpt-5.6-luna': price(0.2, 1.2), // openai; tiered: base rate, higher from 271999 tokens
  'gpt-5.6-sol': price(4, 20), // openai; tiered: base rate, higher from 271999 tokens
  'gpt-5.6-terra': price(2, 12), // openai; tiered: base rate, higher from 271999 tokens
  'gpt-6-astra': price(10, 50), // openai; tiered: base rate, higher from 271999 tokens
  'gpt-6-luna': price(0.1, 0.5), // openai; tiered: base rate, higher from 272000 tokens
  'gpt-6-sol': price(2, 10), // openai; tiered: base rate, higher from 272000 tokens
  'gpt-audio': price(2.5, 10), // openai
  'gpt-audio-1.5': price(2.5, 10), // openai gpt-audio
  'gpt-audio-2025-08-28': price(2.5, 10), // openai gpt-audio
  'gpt-audio-mini': price(0.6, 2.4), // openai
  'gpt-audio-mini-2025-10-06': price(0.6, 2.4), // openai gpt-audio-mini
  'gpt-audio-mini-2025-12-15': price(0.6, 2.4), // openai gpt-audio-mini
  'gpt-chat': price(5, 30), // openai gpt-chat-latest; as gpt-chat-latest
  'gpt-chat-latest': price(5, 30), // openai
  'gpt-image-1': price(5, 40), // openai
  'gpt-image-1-mini': price(2, 8), // openai
  'gpt-image-1.5': price(5, 10), // openai
  'gpt-image-1.5-2025-12-16': price(5, 10), // openai gpt-image-1.5
  'gpt-image-2': price(5, 30), // openai
  'gpt-image-2-2026-04-21': price(5, 30), // openai gpt-image-2
  'gpt-oss-120b': price(0.039, 0.18), // openai
  'gpt-oss-20b': price(0.029, 0.14), // openai
  'gpt-oss-safeguard-20b': price(0.075, 0.3), // openai
  'gpt-realtime': price(4, 16), // openai
  'gpt-realtime-1.5': price(4, 16), // openai gpt-realtime
  'gpt-realtime-2': price(4, 24), // openai
  'gpt-realtime-2.1': price(4, 24), // openai gpt-realtime-2
  'gpt-realtime-2.1-mini': price(0.6, 2.4), // openai gpt-realtime-mini
  'gpt-realtime-2025-08-28': price(4, 16), // openai gpt-realtime
  'gpt-realtime-mini': price(0.6, 2.4), // openai
  'gpt-realtime-mini-2025-10-06': price(0.6, 2.4), // openai gpt-realtime-mini
  'gpt-realtime-mini-2025-12-15': price(0.6, 2.4), // openai gpt-realtime-mini
  'grok-2': price(2, 10), // x-ai grok-2-1212
  'grok-2-1212': price(2, 10), // x-ai
  'grok-2-latest': price(2, 10), // x-ai grok-2-1212
  'grok-2-vision': price(2, 10), // x-ai grok-2-vision-1212
  'grok-2-vision-1212': price(2, 10), // x-ai
  'grok-2-vision-latest': price(2, 10), // x-ai grok-2-vision-1212
  'grok-3': price(3, 15), // x-ai
  'grok-3-beta': price(3, 15), // x-ai grok-3
  'grok-3-fast': price(5, 25), // x-ai
  'grok-3-fast-beta': price(5, 25), // x-ai grok-3-fast
  'grok-3-fast-latest': price(5, 25), // x-ai grok-3-fast
  'grok-3-latest': price(3, 15), // x-ai grok-3
  'grok-3-mini': price(0.3, 0.5), // x-ai
  'grok-3-mini-beta': price(0.3, 0.5), // x-ai grok-3-mini
  'grok-3-mini-fast': price(0.6, 4), // x-ai
  'grok-3-mini-fast-beta': price(0.6, 4), // x-ai grok-3-mini-fast
  'grok-3-mini-fast-latest': price(0.6, 4), // x-ai grok-3-mini-fast
  'grok-3-mini-latest': price(0.3, 0.5), // x-ai grok-3-mini
  'grok-4': price(3, 15), // x-ai grok-4-0709
  'grok-4-0709': price(3, 15), // x-ai
  'grok-4-1-fast': price(0.2, 0.5), // x-ai grok-4-1-fast-reasoning
  'grok-4-1-fast-non-reasoning': price(0.2, 0.5), // x-ai
  'grok-4-1-fast-non-reasoning-latest': price(0.2, 0.5), // x-ai grok-4-1-fast-non-reasoning
  'grok-4-1-fast-reasoning': price(0.2, 0.5), // x-ai
  'grok-4-1-fast-reasoning-latest': price(0.2, 0.5), // x-ai grok-4-1-fast-reasoning
  'grok-4-fast': price(0.2, 0.5), // x-ai grok-4-fast-reasoning
  'grok-4-fast-non-reasoning': price(0.2, 0.5), // x-ai
  'grok-4-fast-non-reasoning-latest': price(0.2, 0.5), // x-ai grok-4-fast-non-reasoning
  'grok-4-fast-reasoning': price(0.2, 0.5), // x-ai
  'grok-4-fast-reasoning-latest': price(0.2, 0.5), // x-ai grok-4-fast-reasoning
  'grok-4-latest': price(3, 15), // x-ai grok-4-0709
  'grok-4.20': price(1.25, 2.5), // x-ai; tiered: base rate, higher from 199999 tokens
  'grok-4.20-multi-agent': price(2, 6), // x-ai
  'grok-4.3': price(1.25, 2.5), // x-ai; tiered: base rate, higher from 199999 tokens
  'grok-4.3-latest': price(1.25, 2.5), // x-ai grok-4.3; tiered: base rate, higher from 199999 tokens
  'grok-4.5': price(2, 6), // x-ai; tiered: base rate, higher from 199999 tokens
  'grok-4.5-latest': price(2, 6), // x-ai grok-4.5; tiered: base rate, higher from 199999 tokens
  'grok-4.6': price(2, 6), // x-ai; tiered: base rate, higher from 199999 tokens
  'grok-4.6-latest': price(2, 6), // x-ai grok-4.6; tiered: base rate, higher from 199999 tokens
  'grok-build-0.1': price(1, 2), // x-ai; tiered: base rate, higher from 199999 tokens
  'grok-code-fast': price(0.2, 1.5), // x-ai grok-code-fast-1
  'grok-code-fast-1': price(0.2, 1.5), // x-ai
  'grok-code-fast-1-0825': price(0.2, 1.5), // x-ai grok-code-fast-1
  'grok-latest': price(2, 6), // x-ai grok-4.5; tiered: base rate, higher from 199999 tokens
  'labs-devstral-small-2512': price(0.1, 0.3), // mistral devstral-small
  'llama-3.1-405b-reasoning': price(0.59, 0.79), // groq
  'llama-3.1-70b-versatile': price(0.59, 0.79), // groq
  'llama-3.1-8b-instant': price(0.05, 0.08), // groq
  'llama-3.2-11b-text-preview': price(0.18, 0.18), // groq
  'llama-3.2-11b-vision-preview': price(0.18, 0.18), // groq
  'llama-3.2-1b-preview': price(0.04, 0.04), // groq
  'llama-3.2-3b-preview': price(0.06, 0.06), // groq
  'llama-3.2-90b-text-preview': price(0.9, 0.9), // groq
  'llama-3.2-90b-vision-preview': price(0.9, 0.9), // groq
  'llama-3.3-70b-specdec': price(0.59, 0.99), // groq
  'llama-3.3-70b-versatile': price(0.59, 0.79), // groq
  'llama-guard-3-8b': price(0.2, 0.2), // groq
  'llama2-70b-4096': price(0.7, 0.8), // groq
  'llama3-70b-8192': price(0.59, 0.79), // groq
  'llama3-8b-8192': price(0.05, 0.08), // groq
  'llama3-groq-70b-8192-tool-use-preview': price(0.89, 0.89), // groq
  'llama3-groq-8b-8192-tool-use-preview': price(0.19, 0.19), // groq
  'magistral-medium': price(2, 5), // mistral
  'magistral-small': price(0.5, 1.5), // mistral
  'meta-llama/llama-2-13b-chat-hf': price(0.225, 0.225), // together meta-llama/Llama-2-13b-chat-hf
  'meta-llama/llama-2-70b-chat-hf': price(0.9, 0.9), // together meta-llama/Llama-2-70b-chat-hf
  'meta-llama/llama-2-7b-chat-hf': price(0.2, 0.2), // together meta-llama/Llama-2-7b-chat-hf
  'meta-llama/llama-3-70b-chat-hf': price(0.9, 0.9), // together meta-llama/Llama-3-70b-chat-hf
  'meta-llama/llama-3-8b-chat-hf': price(0.2, 0.2), // together meta-llama/Llama-3-8b-chat-hf
  'meta-llama/llama-3.3-70b-instruct-turbo': price(0.88, 0.88), // together meta-llama/Llama-3.3-70B-Instruct-Turbo
  'meta-llama/llama-4-maverick-17b-128e-instruct': price(0.2, 0.6), // groq
  'meta-llama/llama-4-maverick-17b-128e-instruct-fp8': price(0.27, 0.85), // together meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8
  'meta-llama/llama-4-scout-17b-16e-instruct': price(0.11, 0.34), // groq
  'meta-llama/llama-guard-4-12b': price(0.2, 0.2), // groq
  'meta-llama/meta-llama-3-70b-instruct-lite': price(0.54, 0.54), // together meta-llama/Meta-Llama-3-70B-Instruct-Lite
  'meta-llama/meta-llama-3-70b-instruct-turbo': price(0.88, 0.88), // together meta-llama/Meta-Llama-3-70B-Instruct-Turbo
  'meta-llama/meta-llama-3-8b-instruct-lite': price(0.1, 0.1), // together meta-llama/Meta-Llama-3-8B-Instruct-Lite
  'meta-llama/meta-llama-3-8b-instruct-turbo': price(0.18, 0.18), // together meta-llama/Meta-Llama-3-8B-Instruct-Turbo
  'meta-llama/meta-llama-3.1-405b-instruct-turbo': price(3.5, 3.5), // together meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo
  'meta-llama/meta-llama-3.1-70b-instruct-turbo': price(0.88, 0.88), // together meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo
  'meta-llama/meta-llama-3.1-8b-instruct-turbo': price(0.18, 0.18), // together meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo
  'meta-llama/meta-llama-3.3-70b-instruct-turbo': price(0.88, 0.88), // together meta-llama/Meta-Llama-3.3-70B-Instruct-Turbo
  'ministral-14b-2512': price(0.2, 0.2), // mistral
  'ministral-3b': price(0.04, 0.04), // mistral
  'ministral-3b-2512': price(0.1, 0.1), // mistral
  'ministral-8b': price(0.1, 0.1), // mistral
  'ministral-8b-2410': price(0.1, 0.1), // mistral ministral-8b
  'ministral-8b-2512': price(0.15, 0.15), // mistral
  'ministral-8b-latest': price(0.15, 0.15), // mistral
  'mistral-7b': price(0.25, 0.25), // mistral
  'mistral-embed': price(0.1, 0.1), // mistral
  'mistral-large': price(2, 6), // mistral
  'mistral-large-2407': price(2, 6), // mistral mistral-large
  'mistral-large-2411': price(2, 6), // mistral mistral-large
  'mistral-large-2512': price(0.5, 1.5), // mistral
  'mistral-large-latest': price(2, 6), // mistral mistral-large
  'mistral-medium': price(0.4, 2), // mistral mistral-medium-3-1
  'mistral-medium-2312': price(2.7, 8.1), // mistral
  'mistral-medium-2505': price(0.4, 2), // mistral mistral-medium-3-1
  'mistral-medium-2508': price(0.4, 2), // mistral mistral-medium-3-1
  'mistral-medium-3': price(1.5, 7.5), // mistral mistral-medium-3-5
  'mistral-medium-3-5': price(1.5, 7.5), // mistral
  'mistral-medium-3.5': price(1.5, 7.5), // mistral mistral-medium-3-5
  'mistral-medium-latest': price(1.5, 7.5), // mistral
  'mistral-nemo': price(0.15, 0.15), // mistral
  'mistral-saba': price(0.2, 0.6), // mistral
  'mistral-saba-24b': price(0.79, 0.79), // groq
  'mistral-saba-latest': price(0.2, 0.6), // mistral mistral-saba
  'mistral-small': price(0.1, 0.3), // mistral mistral-small-latest; as mistral-small-latest
  'mistral-small-24b-instruct-2501': price(0.05, 0.08), // mistral
  'mistral-small-2603': price(0.15, 0.6), // mistral
  'mistral-small-3.1-24b-instruct': price(0.351, 0.555), // mistral
  'mistral-small-3.2-24b-instruct': price(0.075, 0.2), // mistral
  'mistral-small-latest': price(0.1, 0.3), // mistral
  'mistral-tiny': price(0.25, 0.25), // mistral
  'mixtral-8x22b-instruct': price(0.9, 0.9), // mistral
  'mixtral-8x7b': price(0.7, 0.7), // mistral
  'mixtral-8x7b-32768': price(0.24, 0.24), // groq
  'moonshotai/kimi-k2-instruct': price(1, 3), // groq
  'moonshotai/kimi-k2-instruct-0905': price(1, 3), // groq moonshotai/kimi-k2-instruct
  'o1': price(15, 60), // openai
  'o1-2024-12-17': price(15, 60), // openai o1
  'o1-mini': price(1.1, 4.4), // openai
  'o1-mini-2024-09-12': price(1.1, 4.4), // openai o1-mini
  'o1-preview': price(15, 60), // openai
  'o1-preview-2024-09-12': price(15, 60), // openai o1-preview
  'o1-pro': price(150, 600), // openai
  'o1-pro-2025-03-19': price(150, 600), // openai o1-pro
  'o3': price(2, 8), // openai
  'o3-2025-04-16': price(2, 8), // openai o3
  'o3-deep-research': price(10, 40), // openai
  'o3-deep-research-2025-06-26': price(10, 40), // openai o3-deep-research
  'o3-mini': price(1.1, 4.4), // openai
  'o3-mini-2025-01-31': price(1.1, 4.4), // openai o3-mini
  'o3-mini-high': price(1.1, 4.4), // openai o3-mini
  'o3-pro': price(20, 80), // openai
  'o3-pro-2025-06-10': price(20, 80), // openai o3-pro
  'o4-mini': price(1.1, 4.4), // openai
  'o4-mini-2025-04-16': price(1.1, 4.4), // openai o4-mini
  'o4-mini-deep-research': price(2, 8), // openai
  'o4-mini-deep-research-2025-06-26': price(2, 8), // openai o4-mini-deep-research
  'o4-mini-high': price(1.1, 4.4), // openai o4-mini
  'open-mistral-7b': price(0.25, 0.25), // mistral mistral-7b
  'open-mistral-nemo': price(0.15, 0.15), // mistral mistral-nemo
  'open-mixtral-8x7b': price(0.7, 0.7), // mistral mixtral-8x7b
  'openai/gpt-oss-120b': price(0.15, 0.6), // groq
  'openai/gpt-oss-20b': price(0.075, 0.3), // groq
  'openai/gpt-oss-safeguard-20b': price(0.15, 0.6), // groq openai/gpt-oss-120b
  'pixtral-12b': price(0.15, 0.15), // mistral
  'pixtral-12b-latest': price(0.15, 0.15), // mistral pixtral-12b
  'pixtral-large': price(2, 6), // mistral; as pixtral-large-latest
  'pixtral-large-2411': price(2, 6), // mistral pixtral-large
  'pixtral-large-latest': price(2, 6), // mistral pixtral-large
  'qwen/qwen3-32b': price(0.29, 0.59), // groq
  'text-ada-001': price(0.4, 0.4), // openai ada
  'text-curie-001': price(2, 2), // openai curie
  'text-davinci-001': price(20, 20), // openai davinci
  'text-davinci-002': price(20, 20), // openai
  'text-davinci-003': price(20, 20), // openai
  'text-embedding-3-large': price(0.13, 0), // openai; input only
  'text-embedding-3-small': price(0.02, 0), // openai; input only
  'text-embedding-ada': price(0.1, 0), // openai text-embedding-ada-002; input only
  'text-embedding-ada-002': price(0.1, 0), // openai; input only
  'text-embedding-ada-002-v2': price(0.1, 0), // openai text-embedding-ada-002; input only
  'voxtral-small': price(0.1, 0.4), // mistral voxtral-small-24b-2507; as voxtral-small-latest
  'voxtral-small-24b-2507': price(0.1, 0.4), // mistral
  'voxtral-small-2507': price(0.1, 0.4), // mistral voxtral-small-24b-2507
  'voxtral-small-latest': price(0.1, 0.4), // mistral voxtral-small-24b-2507
  'x-ai/grok-4.3': price(1.25, 2.5), // x-ai grok-4.3; tiered: base rate, higher from 199999 tokens
  'x-ai/grok-4.5': price(2, 6), // x-ai grok-4.5; tiered: base rate, higher from 199999 tokens
  'x-ai/grok-4.6': price(2, 6), // x-ai grok-4.6; tiered: base rate, higher from 199999 tokens
});
