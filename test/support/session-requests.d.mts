/** A request template of one encoding (see session-requests.mjs). */
export interface RequestTemplate {
  readonly encoding: 'protobuf' | 'json';
  readonly body: Buffer;
  readonly traceIdOffsets: readonly number[];
  readonly sessionIdOffsets: readonly number[];
}

/** The session id of session `index` of request `requestNumber`. */
export function sessionIdOf(sessionMark: string, requestNumber: number, index: number): string;

/** Makes the sessions of one request once; `template(encoding)` gives it in an encoding. */
export function sessionRequests(options: {
  readonly sessionsPerRequest?: number;
  readonly traceMark: string;
  readonly sessionMark: string;
  readonly content?: string;
}): Promise<{
  readonly spansPerRequest: number;
  readonly sessionsPerRequest: number;
  template(encoding: 'protobuf' | 'json'): RequestTemplate;
}>;

/** Request `requestNumber` made from `template`: a fresh copy with its ids. */
export function requestOf(template: RequestTemplate, requestNumber: number): Buffer;
