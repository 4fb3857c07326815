import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ERROR_CATALOGUE, SETTINGS } from '../src/index.js';

const doc = (name: string): string => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');

/** The cells of each Markdown table row of `text`, trimmed (the formatter pads them to line up). */
const tableRows = (text: string): string[][] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );

describe('documentation', () => {
  it('documents every setting with its file key, flag, environment variable and default', () => {
    const configuration = doc('configuration.md');
    for (const setting of SETTINGS) {
      const row = tableRows(configuration)
        .find((cells) => cells[0] === `\`${setting.file}\``)
        ?.join(' | ');
      expect(row, setting.file).toBeDefined();
      expect(row).toContain(`\`--${setting.flag}\``);
      expect(row).toContain(`\`${setting.env}\``);
      const fallback = DEFAULT_CONFIG[setting.key];
      const none = fallback === '' || (Array.isArray(fallback) && fallback.length === 0);
      expect(row).toContain(none ? '(none)' : `\`${String(fallback)}\``);
    }
  });

  it('documents every error code of the catalogue', () => {
    const errors = doc('errors.md');
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      const cells = tableRows(errors).find((candidate) => candidate[0] === `\`${code}\``);
      const row = cells?.join(' | ');
      expect(row, code).toBeDefined();
      // Codes only ever logged (or printed on exit) have no HTTP status to document.
      if (!('answered' in entry)) expect(cells, code).toContain(String(entry.status));
    }
  });
});
