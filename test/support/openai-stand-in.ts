/**
 * A local stand-in for the OpenAI HTTP API (`node:http` on 127.0.0.1, a free port), for tests that
 * run real client libraries and their instrumentations against it. It answers just enough of
 * `POST /v1/chat/completions` and `POST /v1/embeddings`:
 *
 * - a chat completion as JSON, with usage;
 * - the same streamed as server-sent events, with a last usage chunk when
 *   `stream_options.include_usage` is set;
 * - a tool-call round trip: when the request offers `tools` and holds no `role: 'tool'` message yet,
 *   the answer calls the first tool with {@link TOOL_CALL_ARGUMENTS}; once a tool result is sent
 *   back, the answer is {@link TOOL_ANSWER};
 * - embeddings of each input (floats, or base64 when `encoding_format` asks for it), with usage.
 *
 * Every request is kept in `requests`, so a test can check what the library really sent.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The model every chat answer says answered (what the API resolves `gpt-4o-mini` to). */
export const STAND_IN_CHAT_MODEL = 'gpt-4o-mini-2024-07-18';
/** The model every embeddings answer names. */
export const STAND_IN_EMBEDDING_MODEL = 'text-embedding-3-small';
/** The id of the tool call the stand-in makes. */
export const TOOL_CALL_ID = 'call_1';
/** The arguments of the tool call the stand-in makes. */
export const TOOL_CALL_ARGUMENTS = '{"city":"Paris"}';
/** The answer once the tool's result was sent back. */
export const TOOL_ANSWER = 'It is 21 degrees in Paris.';
/** The `created` time of every answer (fixed, so answers are the same every run). */
export const STAND_IN_CREATED = 1_763_812_800;

/** Token usage as the API reports it. */
export interface StandInUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface OpenAiStandInOptions {
  /** The text of a plain (non-streamed, no tool) answer. */
  reply?: string;
  /** The text of a streamed answer; sent word by word. */
  streamedReply?: string;
  /** Usage of every non-streamed chat answer. */
  usage?: StandInUsage;
  /** Usage in the last chunk of a stream (only when the request sets `stream_options.include_usage`). */
  streamUsage?: StandInUsage;
  /** Prompt tokens of every embeddings answer. */
  embeddingTokens?: number;
}

/** One request the stand-in answered. */
export interface StandInRequest {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

export interface OpenAiStandIn {
  /** The base URL to give a client: `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string;
  /** Every request answered so far, in order. */
  readonly requests: StandInRequest[];
  close(): Promise<void>;
}

export const DEFAULT_STAND_IN_OPTIONS: Required<OpenAiStandInOptions> = {
  reply: 'Hello there',
  streamedReply: 'Hello from the stream',
  usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
  streamUsage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
  embeddingTokens: 4,
};

interface ChatRequest {
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: { function?: { name?: string }; name?: string }[];
  messages?: { role?: string }[];
}

interface ChatAnswer {
  message: {
    role: 'assistant';
    content: string | null;
    tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  };
  finish_reason: 'stop' | 'tool_calls';
}

function chatAnswer(asked: ChatRequest, text: string): ChatAnswer {
  const tool = asked.tools?.[0];
  const toolAnswered = (asked.messages ?? []).some((message) => message.role === 'tool');
  if (tool && !toolAnswered) {
    const name = tool.function?.name ?? tool.name ?? 'tool';
    return {
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: TOOL_CALL_ID, type: 'function', function: { name, arguments: TOOL_CALL_ARGUMENTS } }],
      },
      finish_reason: 'tool_calls',
    };
  }
  return { message: { role: 'assistant', content: toolAnswered ? TOOL_ANSWER : text }, finish_reason: 'stop' };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function streamChat(response: ServerResponse, asked: ChatRequest, options: Required<OpenAiStandInOptions>): void {
  const { message, finish_reason } = chatAnswer(asked, options.streamedReply);
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: STAND_IN_CREATED, model: STAND_IN_CHAT_MODEL };
  const send = (choices: unknown[], extra: object = {}): void => {
    response.write(`data: ${JSON.stringify({ ...base, choices, ...extra })}\n\n`);
  };
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  send([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  const call = message.tool_calls?.[0];
  if (call) {
    send([
      {
        index: 0,
        delta: { tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] },
        finish_reason: null,
      },
    ]);
    send([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: call.function.arguments } }] }, finish_reason: null }]);
  } else {
    // Word by word, each word with the space before it: "Hello", " from", " the", " stream".
    for (const word of (message.content ?? '').split(/(?= )/)) send([{ index: 0, delta: { content: word }, finish_reason: null }]);
  }
  send([{ index: 0, delta: {}, finish_reason }]);
  if (asked.stream_options?.include_usage) send([], { usage: options.streamUsage });
  response.end('data: [DONE]\n\n');
}

function embeddings(
  response: ServerResponse,
  asked: { input?: unknown; encoding_format?: string },
  options: Required<OpenAiStandInOptions>,
): void {
  const inputs = Array.isArray(asked.input) ? asked.input : [asked.input];
  const vector = [0.1, 0.2, 0.3];
  const embedding = asked.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
  json(response, 200, {
    object: 'list',
    model: STAND_IN_EMBEDDING_MODEL,
    data: inputs.map((_, index) => ({ object: 'embedding', index, embedding })),
    usage: { prompt_tokens: options.embeddingTokens, total_tokens: options.embeddingTokens },
  });
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  let raw = '';
  for await (const chunk of request) raw += (chunk as Buffer).toString('utf8');
  return raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
}

/** Starts the stand-in on a free port of 127.0.0.1; close it when done. */
export async function startOpenAiStandIn(overrides: OpenAiStandInOptions = {}): Promise<OpenAiStandIn> {
  const options = { ...DEFAULT_STAND_IN_OPTIONS, ...overrides };
  const requests: StandInRequest[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const path = request.url ?? '';
      requests.push({ method: request.method ?? '', path, body });
      if (request.method === 'POST' && path.endsWith('/chat/completions')) {
        const asked = body as ChatRequest;
        if (asked.stream) {
          streamChat(response, asked, options);
        } else {
          const { message, finish_reason } = chatAnswer(asked, options.reply);
          json(response, 200, {
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: STAND_IN_CREATED,
            model: STAND_IN_CHAT_MODEL,
            choices: [{ index: 0, message, finish_reason }],
            usage: options.usage,
          });
        }
      } else if (request.method === 'POST' && path.endsWith('/embeddings')) {
        embeddings(response, body, options);
      } else {
        json(response, 404, { error: { message: `the stand-in has no ${request.method} ${path}`, type: 'invalid_request_error' } });
      }
    })().catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { error: { message: String(error), type: 'server_error' } });
      else response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
