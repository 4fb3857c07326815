// Regenerates packages/sessions/src/default-prices.ts, the built-in price table, from the npm
// package @pydantic/genai-prices (MIT):
//   pnpm --filter @llm-monitor/sessions update-prices            # the latest version
//   pnpm --filter @llm-monitor/sessions update-prices -- 0.1.8   # a given version
// It fetches the tarball with `npm pack` (so from the configured registry, integrity-checked),
// unpacks it in memory, loads the package's bundled price data and its own `calcPrice` (which
// resolves its name matching, dated and time-of-day prices), and writes a sorted, deterministic
// table: the same package version always gives the same file. Plain Node, no dependencies.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

const PACKAGE = '@pydantic/genai-prices';
const OUTPUT = fileURLToPath(new URL('../src/default-prices.ts', import.meta.url));

/**
 * The providers taken, in order of precedence: the first to price a name keeps it. Model makers
 * first, then hosts for open models (Meta's Llama above all). `only` narrows a provider's models.
 */
const PROVIDERS = [
  { id: 'openai' },
  { id: 'anthropic' },
  { id: 'google' },
  { id: 'mistral' },
  { id: 'cohere' },
  { id: 'deepseek' },
  { id: 'x-ai' },
  { id: 'groq' },
  { id: 'together', only: /^meta-llama\// },
];

/** Names we write: lower case, no spaces, ending in a letter or digit (no match fragments like `gpt-`). */
const NAME = /^[a-z0-9][a-z0-9._:/@-]*[a-z0-9]$/;

function npm(args) {
  return execFileSync('npm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], shell: process.platform === 'win32' });
}

/** The regular files of a (gzipped) tar archive, by path. Handles ustar prefixes, pax and GNU long names. */
function untar(gzipped) {
  const tar = gunzipSync(gzipped);
  const files = new Map();
  const text = (start, length) => tar.toString('utf8', start, start + length).replace(/\0.*$/s, '');
  let offset = 0;
  let longName = null;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = Number.parseInt(text(offset + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = text(offset + 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100));
    const body = tar.subarray(offset + 512, offset + 512 + size);
    longName = null;
    if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (path) longName = path[1];
    } else if (type === 'L') {
      longName = body.toString('utf8').replace(/\0.*$/s, '');
    } else if (type === '0' || type === '\0') {
      files.set(name, body);
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** A `*_mtok` price as a number: the number itself, or a tiered price's base rate (with its first threshold). */
function rate(value) {
  if (typeof value === 'number') return { value };
  if (value && typeof value === 'object' && typeof value.base === 'number' && Array.isArray(value.tiers)) {
    return { value: value.base, tieredFrom: Math.min(...value.tiers.map((tier) => tier.start)) };
  }
  return undefined;
}

/** The literal names in a model's match logic (`equals`, `starts_with`, `contains`, `ends_with`), skipping `and` and regexes. */
function matchLiterals(match, literals = []) {
  if (!match || typeof match !== 'object') return literals;
  if (Array.isArray(match.or)) for (const inner of match.or) matchLiterals(inner, literals);
  for (const kind of ['equals', 'starts_with', 'contains', 'ends_with']) {
    if (typeof match[kind] === 'string') literals.push({ kind, name: match[kind].trim().toLowerCase() });
  }
  return literals;
}

/**
 * A model's names, each with the name to ask the package about: its id, its `equals` names, and the
 * literals of its patterns unless they stop inside a date or number (`claude-sonnet-4-2025`,
 * `gemini-2.0-flash-0`). A `starts_with` ending in `-` (`magistral-small-`) gives the family name
 * (`magistral-small`), asked about as `magistral-small-x`; `priceOf` finds it as a prefix.
 */
function modelNames(model) {
  const names = [{ name: model.id.trim().toLowerCase(), probe: model.id.trim().toLowerCase() }];
  for (const { kind, name } of matchLiterals(model.match)) {
    if (kind === 'equals') names.push({ name, probe: name });
    else if (kind === 'starts_with' && name.endsWith('-')) names.push({ name: name.slice(0, -1), probe: `${name}x` });
    else if (!/-(?:20\d\d|0)$/.test(name)) names.push({ name, probe: name });
  }
  return names;
}

async function main() {
  const spec = process.argv[2] ?? 'latest';
  const work = mkdtempSync(join(tmpdir(), 'genai-prices-'));
  try {
    const [packed] = JSON.parse(npm(['pack', `${PACKAGE}@${spec}`, '--json', '--pack-destination', work]));
    const files = untar(readFileSync(join(work, packed.filename)));
    const file = (path) => {
      const body = files.get(`package/${path}`);
      if (!body) throw new Error(`${PACKAGE}@${packed.version}: no ${path} in the tarball`);
      return body;
    };
    const manifest = JSON.parse(file('package.json').toString('utf8'));
    if (manifest.name !== PACKAGE) throw new Error(`npm pack gave ${manifest.name}, not ${PACKAGE}`);
    const version = manifest.version;
    if (manifest.license !== 'MIT')
      throw new Error(`${PACKAGE}@${version} is licensed ${manifest.license}, not MIT: check before vendoring`);
    const licence = file('LICENSE').toString('utf8').trim();
    const published = JSON.parse(npm(['view', `${PACKAGE}@${version}`, 'time', '--json']))[version];
    if (!published) throw new Error(`npm view gave no publication time for ${PACKAGE}@${version}`);
    const date = new Date(published).toISOString().slice(0, 10);

    // The data is bundled in dist/index.js (no separate data file); load the module itself.
    const moduleDirectory = join(work, 'package');
    mkdirSync(join(moduleDirectory, 'dist'), { recursive: true });
    writeFileSync(join(moduleDirectory, 'package.json'), file('package.json'));
    writeFileSync(join(moduleDirectory, 'dist', 'index.js'), file('dist/index.js'));
    const { calcPrice, waitForUpdate } = await import(pathToFileURL(join(moduleDirectory, 'dist', 'index.js')).href);
    const providers = await waitForUpdate();
    if (!Array.isArray(providers)) throw new Error(`${PACKAGE}@${version}: waitForUpdate() gave no provider list`);

    // Dated and time-of-day prices: the ones in force at noon UTC on the publication day.
    const timestamp = new Date(`${date}T12:00:00Z`);
    const table = new Map();
    const skipped = [];
    for (const { id, only } of PROVIDERS) {
      const provider = providers.find((candidate) => candidate.id === id);
      if (!provider) throw new Error(`${PACKAGE}@${version} has no provider ${id}`);
      const names = new Map();
      for (const model of provider.models) {
        if (only && !only.test(model.id)) continue;
        for (const { name, probe } of modelNames(model)) names.set(name, [...(names.get(name) ?? []), probe]);
      }
      for (const [name, probes] of [...names].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (!NAME.test(name) || table.has(name)) continue;
        // The package's own answer for this name and provider: its first matching model, its price then.
        const result = probes
          .map((probe) => calcPrice({ input_tokens: 1, output_tokens: 1 }, probe, { providerId: id, timestamp }))
          .find(Boolean);
        if (!result) continue;
        const input = rate(result.model_price.input_mtok);
        const output = rate(result.model_price.output_mtok);
        if (!input || (result.model_price.output_mtok !== undefined && !output)) {
          skipped.push(`${id}/${name}`);
          continue;
        }
        const notes = [];
        const tieredFrom = Math.min(input.tieredFrom ?? Infinity, output?.tieredFrom ?? Infinity);
        if (tieredFrom !== Infinity) notes.push(`tiered: base rate, higher from ${tieredFrom} tokens`);
        if (!output) notes.push('input only');
        if (result.provider.id !== id) notes.push(`via ${result.provider.id}`);
        table.set(name, { input: input.value, output: output?.value ?? 0, provider: id, model: result.model.id, notes });
      }
    }
    // `priceOf` reads `x-latest` as `x`; the data sometimes lists only `x-latest` (e.g. `mistral-small-latest`).
    for (const [name, entry] of [...table]) {
      const bare = name.endsWith('-latest') ? name.slice(0, -'-latest'.length) : null;
      // Only a family name (`mistral-small`), not a bare brand (`grok`) that would price any `grok-…` by prefix.
      if (bare?.includes('-') && NAME.test(bare) && !table.has(bare)) table.set(bare, { ...entry, notes: [`as ${name}`, ...entry.notes] });
    }

    for (const [name, { input, output }] of table) {
      if (!(Number.isFinite(input) && Number.isFinite(output) && input >= 0 && output >= 0 && input <= 1e6 && output <= 1e6)) {
        throw new Error(`${PACKAGE}@${version}: ${name} has an impossible price ${input}/${output}`);
      }
    }
    const names = [...table.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const lines = names.map((name) => {
      const { input, output, provider, model, notes } = table.get(name);
      const comment = [model === name ? provider : `${provider} ${model}`, ...notes].join('; ');
      return `  '${name}': price(${input}, ${output}), // ${comment}`;
    });

    const source = `// GENERATED FILE: do not edit by hand. Regenerate with
//   pnpm --filter @llm-monitor/sessions update-prices
// (packages/sessions/scripts/update-default-prices.mjs), which rewrites it from the npm package
// ${PACKAGE}@${version}, published ${date}. Overrides belong in the \`model_prices\` setting.
//
// How the table is made:
// - Providers, in order of precedence (the first to price a name keeps it): ${PROVIDERS.map(({ id, only }) => (only ? `${id} (${only.source.replace(/\\/g, '')} only)` : id)).join(', ')}.
// - Names: each model's id and the literal names of its match rules (equals, starts_with, contains,
//   ends_with; not those stopping inside a date or number), lower-cased, each priced by the
//   package's own calcPrice for that provider; a \`starts_with: x-\` rule gives the name \`x\`.
// - Dated and time-of-day prices: the ones in force at noon UTC on ${date}.
// - Tiered prices (a higher rate above a prompt size): the base rate, marked "tiered" below.
// - Models priced only for input (embeddings): output 0, marked "input only".
// - A name listed only as \`x-latest\` is also written as \`x\` when \`x\` has a hyphen, marked "as x-latest".
// - Only plain input and output token rates: cache, audio, image and per-request rates are left out.
//
// The price data is from ${PACKAGE} under this licence:
${licence
  .split('\n')
  .map((line) => `//   ${line}`.trimEnd())
  .join('\n')}

import type { ModelPrice, ModelPrices } from './model-prices.js';

/** The package, version and publication day (UTC) of {@link DEFAULT_MODEL_PRICES}. */
export const DEFAULT_PRICES_SOURCE = { package: '${PACKAGE}', version: '${version}', date: '${date}' } as const;

const price = (input: number, output: number): ModelPrice => Object.freeze({ input_per_million: input, output_per_million: output });

/**
 * The built-in price table (${names.length} model names): USD per million input and output tokens, from
 * ${PACKAGE}@${version} (${date}). The \`model_prices\` setting overrides it (see \`withDefaultPrices\`).
 */
export const DEFAULT_MODEL_PRICES: ModelPrices = Object.freeze({
${lines.join('\n')}
});
`;
    writeFileSync(OUTPUT, source);
    console.log(`${OUTPUT}: ${names.length} model names from ${PACKAGE}@${version} (${date})`);
    if (skipped.length) console.log(`not priced per token, left out: ${skipped.join(', ')}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
