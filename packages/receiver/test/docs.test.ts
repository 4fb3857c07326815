import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ERROR_CATALOGUE, SETTINGS } from '../src/index.js';

const doc = (name: string): string => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');

describe('documentation', () => {
  it('documents every setting with its file key, flag, environment variable and default', () => {
    const configuration = doc('configuration.md');
    for (const setting of SETTINGS) {
      const row = configuration.split('\n').find((line) => line.startsWith(`| \`${setting.file}\` |`));
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
      const row = errors.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      expect(row, code).toBeDefined();
      // Codes only ever logged (or printed on exit) have no HTTP status to document.
      if (!('answered' in entry)) expect(row).toContain(`| ${entry.status} |`);
    }
  });
});
