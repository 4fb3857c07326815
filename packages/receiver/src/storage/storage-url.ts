/**
 * The `storage_url` setting: which history store to open. Parsed once, at config time, so a typo is
 * a config error before anything starts.
 */
/** A parsed `storage_url`. */
export type StorageLocation =
  { readonly kind: 'memory' } | { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

/** Parses a `storage_url`; returns a message saying what is expected when it is none. */
export function parseStorageUrl(url: string): StorageLocation | string {
  const text = url.trim();
  if (text === 'memory:' || text === 'memory') return { kind: 'memory' };
  if (text.startsWith('sqlite:')) {
    // sqlite:<path> and sqlite://<path> both name a file; the path may be relative to the working directory.
    const path = text.slice('sqlite:'.length).replace(/^\/\/(?=\/|\.|[A-Za-z]:)/, '');
    if (path === '' || path === '//') return 'sqlite: needs a file path, e.g. sqlite:./data/llm-monitor.db';
    return { kind: 'sqlite', path };
  }
  if (text.startsWith('postgres://') || text.startsWith('postgresql://')) {
    try {
      new URL(text);
    } catch {
      return 'a PostgreSQL URL such as postgres://user:password@host:5432/database';
    }
    return { kind: 'postgres', url: text };
  }
  return 'sqlite:<path>, postgres://user@host:5432/database, or memory:';
}
