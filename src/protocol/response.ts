// The plain request and response shapes a prise handler speaks. Node's IncomingMessage is a
// Request; a Response is a plain object, so handlers stay easy to call from tests.

/** What prise reads of a request. Node's `http.IncomingMessage` fits; header names are lowercase. */
export interface Request {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersion?: string | undefined;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** When present (as on IncomingMessage), used to see headers Node would have merged. */
  readonly rawHeaders?: readonly string[] | undefined;
}

/** Response headers: names in any case; an array sends the header once per value. */
export type ResponseHeaders = Record<string, string | number | readonly string[]>;

/** A response body: text, bytes, or a stream of them (a Node Readable is an AsyncIterable). */
export type ResponseBody = string | Uint8Array | AsyncIterable<string | Uint8Array>;

export interface Response {
  status: number;
  headers?: ResponseHeaders;
  /** None, or null, is an empty body. */
  body?: ResponseBody | null;
}

/**
 * Checks what a handler returned (plain JavaScript can return anything) and gives it back as a
 * Response, or throws a TypeError saying what is wrong with it, so the server answers 500 and
 * logs that instead of failing later, deep in node:http or node:stream.
 */
export function checkResponse(value: unknown): Response {
  if (value === undefined || value === null) {
    throw new TypeError(`the handler returned no response (${String(value)}); return { status, headers?, body? }`);
  }
  if (typeof value !== 'object') {
    throw new TypeError(`the handler returned a ${typeof value}, not a response { status, headers?, body? }`);
  }
  const { status, headers, body } = value as { status?: unknown; headers?: unknown; body?: unknown };
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    throw new TypeError(`the handler's response has status ${show(status)}; expected an integer from 100 to 599`);
  }
  if (headers !== undefined && (typeof headers !== 'object' || headers === null || Array.isArray(headers))) {
    throw new TypeError(`the handler's response has headers ${show(headers)}; expected an object of name: value`);
  }
  if (!isBody(body)) {
    throw new TypeError(
      `the handler's response has a body of type ${describeType(body)}; expected a string, a Uint8Array, ` +
        'an async iterable of them (a stream), or null',
    );
  }
  return value as Response;
}

function isBody(body: unknown): boolean {
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array) return true;
  return typeof body === 'object' && typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? describeType(value) : String(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return value.constructor?.name === 'Object' ? 'plain object' : (value.constructor?.name ?? 'object');
  return typeof value;
}
