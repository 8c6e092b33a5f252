// An Http2Stream made fit to carry a Websocket (RFC 8441 §5: the stream stands for the TCP
// connection of RFC 6455). The Websocket class runs on it unchanged; this adapter maps the two
// ways a TCP connection ends onto the stream:
// - orderly: the Websocket ends its side (END_STREAM). A peer that never ends its own side
//   (undici does not) gets RST_STREAM(NO_ERROR) after STREAM_END_GRACE ms, so the stream does
//   not stay half-open forever;
// - abnormal: a Websocket dropping its connection (timeouts, outgoing cap, destroy()) resets
//   the stream with RST_STREAM(CANCEL), as §5 says, and without END_STREAM first. On
//   node:http2, close(code) and destroy() send END_STREAM before the reset; only destroy(error)
//   with an AbortError resets with CANCEL alone.

import type { Http2Stream } from 'node:http2';
import { addAbortSignal } from 'node:stream';

/** ms a peer gets to end its side of the stream after ours has ended. */
export const STREAM_END_GRACE = 1000;

const adopted = new WeakSet<Http2Stream>();

/** Prepares `stream` for a Websocket (call before constructing it); returns the stream. */
export function websocketStream(stream: Http2Stream, grace = STREAM_END_GRACE): Http2Stream {
  if (adopted.has(stream)) return stream;
  adopted.add(stream);
  const destroy = stream.destroy;
  // The Websocket drops a connection with destroy() and no error: make that a reset (CANCEL).
  stream.destroy = function (this: Http2Stream, error?: Error): Http2Stream {
    if (error !== undefined || this.destroyed || this.closed) return destroy.call(this, error);
    addAbortSignal(AbortSignal.abort(), this); // destroys with an AbortError: RST_STREAM(CANCEL)
    return this;
  };
  stream.once('finish', () => {
    if (stream.closed) return;
    const timer = setTimeout(() => {
      // Our END_STREAM is out; the peer's is overdue. NO_ERROR: the close handshake was done.
      if (!stream.closed) stream.close(0);
    }, grace);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  });
  return stream;
}
