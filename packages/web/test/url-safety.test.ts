import { describe, expect, it } from 'vitest';
import { isGuardedAttribute, safeHref } from '../src/url-safety.js';

describe('links and attributes the page sets', () => {
  it('keeps fragments, same-origin paths and http(s) URLs, and nothing that leaves or runs', () => {
    for (const url of ['#/sessions/a', './assets/x.js', '/api', 'http://127.0.0.1:8000/api', 'HTTPS://example.org/'])
      expect(safeHref(url)).toBe(url);
    for (const url of [
      'javascript:alert(1)',
      'data:text/html,<b>',
      '//evil.example/',
      '/\\evil.example',
      'http://a\\b',
      'vbscript:x',
      ' javascript:x',
    ])
      expect(safeHref(url), url).toBe('#');
  });

  it('refuses event handlers and URL, markup and style attributes as plain attributes', () => {
    for (const name of ['onclick', 'ONERROR', 'href', 'src', 'srcdoc', 'xlink:href', 'formaction', 'style'])
      expect(isGuardedAttribute(name), name).toBe(true);
    for (const name of ['data-testid', 'aria-label', 'role', 'colspan', 'datetime']) expect(isGuardedAttribute(name), name).toBe(false);
  });
});
