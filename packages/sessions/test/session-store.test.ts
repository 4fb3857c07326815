import { describe, expect, it } from 'vitest';
import { SessionBuilder, SessionPipeline, SessionStore } from '../src/index.js';
import type { ProcessingSession, SessionChange } from '../src/index.js';
import { completedSession, pendingMarker } from './span-fixtures.js';

function sessionWith(id: string, status: ProcessingSession['status']): ProcessingSession {
  const built = new SessionBuilder().ingest(completedSession({ sessionId: id }).all)[0]!;
  return { ...built, session_id: id, status };
}

describe('SessionStore', () => {
  it('emits started, updated and the final status', () => {
    const store = new SessionStore();
    const changes: SessionChange[] = [];
    store.subscribe((change) => changes.push(change));
    store.upsert(sessionWith('a', 'active'), 0);
    store.upsert(sessionWith('a', 'active'), 1);
    store.upsert(sessionWith('a', 'failed'), 2);
    expect(changes.map((c) => c.type)).toEqual(['started', 'updated', 'failed']);
    expect(changes[2]!.previousStatus).toBe('active');
  });

  it('removes ended sessions after the retention, never active ones', () => {
    const store = new SessionStore({ retentionMs: 1000 });
    store.upsert(sessionWith('done', 'completed'), 0);
    store.upsert(sessionWith('running', 'active'), 0);
    expect(store.sweep(999)).toEqual([]);
    expect(store.sweep(1000).map((s) => s.session_id)).toEqual(['done']);
    expect(store.get('done')).toBeUndefined();
    expect(store.get('running')).toBeDefined();
  });

  it('evicts the oldest ended sessions first beyond the maximum count', () => {
    const store = new SessionStore({ maxSessions: 2 });
    const removed: string[] = [];
    store.subscribe((change) => change.type === 'removed' && removed.push(change.session.session_id));
    store.upsert(sessionWith('old', 'completed'), 1);
    store.upsert(sessionWith('running', 'active'), 2);
    store.upsert(sessionWith('new', 'completed'), 3);
    expect(removed).toEqual(['old']);
    expect([...store.values()].map((s) => s.session_id)).toEqual(['running', 'new']);
  });
});

describe('SessionPipeline', () => {
  it('stores sessions as spans arrive and forgets their traces once removed', () => {
    const pipeline = new SessionPipeline({ retentionMs: 10 });
    const { root, all } = completedSession();
    pipeline.ingest([pendingMarker(root)], 0);
    expect(pipeline.store.get('session-1')?.status).toBe('active');
    pipeline.ingest(all, 5);
    expect(pipeline.store.get('session-1')?.status).toBe('completed');
    pipeline.sweep(15);
    expect(pipeline.store.size).toBe(0);
    // The trace was forgotten: a late duplicate makes a fresh session, not a merge with stale state.
    pipeline.ingest([root], 20);
    expect(pipeline.store.get('session-1')?.stages).toEqual([]);
  });
});
