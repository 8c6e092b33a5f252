// Response headers as HTTP/2 wants them (RFC 9113 §8.2): names in lowercase, and none of the
// connection-specific fields HTTP/1.1 uses (node:http2 refuses them). Pure; the HTTP/2 server
// layer turns a prise Response into these before stream.respond().

import type { OutgoingHttpHeaders } from 'node:http2';
import type { Response, ResponseHeaders } from '../protocol/response.js';

/** RFC 9113 §8.2.2: these MUST NOT appear in an HTTP/2 message. */
const CONNECTION_SPECIFIC = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding']);

/** The header block for `status` and `headers`, with content-length for a body known in full. */
export function http2Headers(status: number, headers: ResponseHeaders = {}, body?: Response['body']): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': status };
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (CONNECTION_SPECIFIC.has(lower) || lower.startsWith(':')) continue;
    out[lower] = typeof value === 'number' ? String(value) : (value as string | string[]);
  }
  if (out['content-length'] === undefined && (typeof body === 'string' || body instanceof Uint8Array)) {
    out['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  }
  return out;
}
