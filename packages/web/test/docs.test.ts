import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('the screenshots of the web monitor', () => {
  it('exist for every picture docs/web-monitor.md and the README show', () => {
    for (const [file, prefix] of [
      ['docs/web-monitor.md', 'docs/'],
      ['README.md', ''],
    ] as const) {
      const pictures = [...readFileSync(`${root}${file}`, 'utf8').matchAll(/!\[[^\]]*\]\(((?:docs\/)?images\/web\/[^)]+)\)/g)].map(
        (match) => match[1]!,
      );
      expect(pictures.length, file).toBeGreaterThan(1);
      for (const picture of pictures) expect(existsSync(`${root}${prefix}${picture}`), `${file}: ${picture}`).toBe(true);
    }
  });
});
