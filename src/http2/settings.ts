// HTTP/2 settings prise uses on both sides. RFC 8441 §3: the server must send
// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 before a client may send :protocol. The windows are
// larger than HTTP/2's 64 KiB default, which would cost a round trip per 64 KiB message; a
// stalled stream still holds at most STREAM_WINDOW bytes unread, on top of the Websocket's own
// readable buffer.

import type { Http2Session, Settings } from 'node:http2';

/** Per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE). */
export const STREAM_WINDOW = 1024 * 1024;
/** Connection-level receive window, shared by every stream of a session. */
export const SESSION_WINDOW = 16 * 1024 * 1024;

/** Streams (WebSockets and requests) open at once on one connection; node's default is 2^32 - 1. */
export const MAX_CONCURRENT_STREAMS = 1000;

export const SERVER_SETTINGS: Settings = {
  enableConnectProtocol: true,
  initialWindowSize: STREAM_WINDOW,
  maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
};
export const CLIENT_SETTINGS: Settings = { initialWindowSize: STREAM_WINDOW };

/** Widens a new session's connection window (there is no setting for it, only WINDOW_UPDATE). */
export function widenWindow(session: Http2Session): void {
  if (!session.destroyed) session.setLocalWindowSize(SESSION_WINDOW);
}
