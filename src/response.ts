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
  body?: ResponseBody;
}
