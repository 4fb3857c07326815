import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/index.js';
import { closestName } from '../src/did-you-mean.js';

const FLAGS = [
  'config',
  'version',
  'help',
  ...SETTINGS.map((setting) => setting.flag),
  ...SETTINGS.filter((setting) => setting.type === 'boolean').map((setting) => `no-${setting.flag}`),
];

describe('closestName', () => {
  it('finds the flag a typo meant: swapped letters, a missing letter, case, underscores', () => {
    expect(closestName('prot', FLAGS)).toBe('port');
    expect(closestName('no-dmeo', FLAGS)).toBe('no-demo');
    expect(closestName('otlp-prot', FLAGS)).toBe('otlp-port');
    expect(closestName('max-session', FLAGS)).toBe('max-sessions');
    expect(closestName('Port', FLAGS)).toBe('port');
    expect(closestName('otlp_port', FLAGS)).toBe('otlp-port');
    expect(closestName('verison', FLAGS)).toBe('version');
  });

  it('allows more edits in long names, a third of their length', () => {
    expect(closestName('otlp-max-body-size', FLAGS)).toBe('otlp-max-body-bytes');
  });

  it('suggests nothing when no name is close', () => {
    expect(closestName('xyz', FLAGS)).toBeUndefined();
    expect(closestName('verbose', FLAGS)).toBeUndefined();
    expect(closestName('retention', FLAGS)).toBeUndefined();
    // As many edits as letters typed is a different word, not a typo.
    expect(closestName('po', ['port'])).toBeUndefined();
    expect(closestName('x', ['h'])).toBeUndefined();
    expect(closestName('por', ['port'])).toBe('port');
    expect(closestName('anything', [])).toBeUndefined();
  });

  it('prefers the nearest name, and on a tie the one listed first', () => {
    expect(closestName('pots', ['host', 'port'])).toBe('port');
    expect(closestName('post', ['host', 'port'])).toBe('host');
    expect(closestName('post', ['port', 'host'])).toBe('port');
  });
});
