/**
 * The dispatch of a live subscription, driven through the WebSocket interface it accepts (the real
 * server is exercised in test/live-client.e2e.test.ts; here the server's messages are written by hand).
 */
import { describe, expect, it } from 'vitest';
import { subscribeLive } from '../src/index.js';
import type { WebSocketLike } from '../src/index.js';

class ScriptedSocket implements WebSocketLike {
  static last: ScriptedSocket | undefined;
  readyState = 0;
  readonly url: string;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(url: string) {
    this.url = url;
    ScriptedSocket.last = this;
  }
  send(): void {}
  close(): void {
    this.readyState = 3;
  }
  receive(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

describe('subscribeLive', () => {
  it('reports renamed and removed sessions', () => {
    const seen: string[] = [];
    const handle = subscribeLive({
      baseUrl: 'http://monitor.test:8000',
      WebSocket: ScriptedSocket,
      onRenamed: ({ previous_session_id, session_id }) => seen.push(`renamed ${previous_session_id} → ${session_id}`),
      onRemoved: ({ session_id }) => seen.push(`removed ${session_id}`),
    });
    const socket = ScriptedSocket.last!;
    expect(socket.url).toBe('ws://monitor.test:8000/ws/monitoring');
    socket.receive({
      type: 'batch',
      events: [
        { type: 'session_renamed', session_id: 's-1', previous_session_id: 'trace-1' },
        { type: 'session_removed', session_id: 's-0' },
      ],
    });
    expect(seen).toEqual(['renamed trace-1 → s-1', 'removed s-0']);
    handle.close();
  });
});
