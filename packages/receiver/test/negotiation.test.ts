import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { CSV, HTML, JSON_MEDIA_TYPE, MAX_ACCEPT_LENGTH, preferredMediaType } from '../src/api/negotiation.js';
import { oneSpanRequest } from './otlp-fixtures.js';

describe('preferredMediaType', () => {
  const page = [HTML, JSON_MEDIA_TYPE] as const;

  it("takes the highest q-value, the server's first offer when the client rates them alike", () => {
    expect(preferredMediaType('application/json', page)).toBe(JSON_MEDIA_TYPE);
    expect(preferredMediaType('text/html;q=0.4, application/json;q=0.5', page)).toBe(JSON_MEDIA_TYPE);
    expect(preferredMediaType('text/html;q=0.6, application/json;q=0.5', page)).toBe(HTML);
    expect(preferredMediaType('*/*', page)).toBe(HTML);
    expect(preferredMediaType('*/*', [JSON_MEDIA_TYPE, HTML])).toBe(JSON_MEDIA_TYPE);
    // No header is a wildcard (RFC 9110).
    expect(preferredMediaType(undefined, page)).toBe(HTML);
    // Equal q-values from two ranges: the client's order.
    expect(preferredMediaType('application/json, text/html', page)).toBe(JSON_MEDIA_TYPE);
  });

  it('lets a more specific range override a broader one, q=0 included', () => {
    expect(preferredMediaType('text/*;q=0.9, text/csv;q=0.1, application/json;q=0.5', [JSON_MEDIA_TYPE, CSV])).toBe(JSON_MEDIA_TYPE);
    expect(preferredMediaType('text/*', [JSON_MEDIA_TYPE, CSV])).toBe(CSV);
    expect(preferredMediaType('text/html;q=0, */*', page)).toBe(JSON_MEDIA_TYPE);
    expect(preferredMediaType('application/*;q=0.2, text/html;q=0.1', page)).toBe(JSON_MEDIA_TYPE);
  });

  it('matches a range with parameters only when the offer carries them', () => {
    expect(preferredMediaType('application/json; charset=UTF-8', page)).toBe(JSON_MEDIA_TYPE);
    expect(preferredMediaType('text/csv; header=present', [JSON_MEDIA_TYPE, CSV])).toBe(CSV);
    expect(preferredMediaType('text/csv; charset=utf-8; header=present, application/json;q=0.5', [JSON_MEDIA_TYPE, CSV])).toBe(CSV);
    // We always write a header row and UTF-8: a client that wants neither is not offered CSV.
    expect(preferredMediaType('text/csv; header=absent, application/json;q=0.1', [JSON_MEDIA_TYPE, CSV])).toBe(JSON_MEDIA_TYPE);
    expect(preferredMediaType('text/csv; charset=iso-8859-1, application/json;q=0.1', [JSON_MEDIA_TYPE, CSV])).toBe(JSON_MEDIA_TYPE);
  });

  it('answers in the first offer when nothing offered is acceptable, and never throws', () => {
    expect(preferredMediaType('image/png', page)).toBe(HTML);
    expect(preferredMediaType('', page)).toBe(HTML);
    expect(preferredMediaType('application/json;q=0, text/html;q=0', [JSON_MEDIA_TYPE, HTML])).toBe(JSON_MEDIA_TYPE);
    for (const accept of [
      ';;;',
      ',,,',
      'application/json;q=abc',
      '"',
      'text/html; charset="utf',
      'garbage',
      '*/*;q=',
      'a/b;x=1,'.repeat(2000),
    ]) {
      expect(() => preferredMediaType(accept, page), accept).not.toThrow();
    }
    // An unreadable q-value accepts nothing.
    expect(preferredMediaType('application/json;q=abc', page)).toBe(HTML);
  });

  it('reads no more than MAX_ACCEPT_LENGTH characters: a longer header counts as absent', () => {
    const padded = (ranges: number): string => `application/json,${'x/y;q=0.1,'.repeat(ranges)}x/z;q=0.1`;
    expect(padded(99).length).toBeLessThanOrEqual(MAX_ACCEPT_LENGTH);
    expect(preferredMediaType(padded(99), page)).toBe(JSON_MEDIA_TYPE);
    expect(padded(100).length).toBeGreaterThan(MAX_ACCEPT_LENGTH);
    expect(preferredMediaType(padded(100), page)).toBe(HTML);
  });
});

describe('the list endpoints by Accept', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' });
    await receiver.otlpServer.inject(
      oneSpanRequest({ traceId: '1'.repeat(32), spanId: '1'.repeat(16), name: 'chat m', attributes: { 'gen_ai.request.model': 'm' } }),
    );
    await receiver.historyWriter.flush();
  });
  afterAll(() => receiver.close());

  it('give a CSV download to clients that prefer CSV to JSON, a JSON page to everyone else', async () => {
    const cases: [string | undefined, 'csv' | 'json'][] = [
      ['text/csv', 'csv'],
      ['text/csv; header=present', 'csv'],
      ['text/csv;q=0.5, application/json;q=0.4', 'csv'],
      ['text/*', 'csv'],
      ['application/json, text/csv;q=0.1', 'json'],
      ['text/csv; header=absent', 'json'],
      ['text/csv;q=0', 'json'],
      ['*/*', 'json'],
      [undefined, 'json'],
      ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'json'],
    ];
    for (const [accept, expected] of cases) {
      for (const path of ['/api/monitoring/sessions/recent', '/api/monitoring/llm-calls']) {
        const response = await receiver.apiServer.inject({ url: path, headers: accept === undefined ? {} : { accept } });
        expect(response.statusCode, `${path} ${accept}`).toBe(200);
        if (expected === 'csv') {
          expect(response.headers['content-type'], `${path} ${accept}`).toBe('text/csv; charset=utf-8');
          expect(response.headers['content-disposition'], `${path} ${accept}`).toMatch(/^attachment; filename="llm-monitor-.*\.csv"$/);
        } else {
          expect(response.headers['content-type'], `${path} ${accept}`).toBe('application/json; charset=utf-8');
          expect(response.headers['content-disposition'], `${path} ${accept}`).toBeUndefined();
        }
      }
    }
    // `format` wins over Accept.
    const json = await receiver.apiServer.inject({ url: '/api/monitoring/sessions/recent?format=json', headers: { accept: 'text/csv' } });
    expect(json.headers['content-disposition']).toMatch(/\.json"$/);
  });
});
