// --ping-interval: a ping every so often, each carrying its sequence number, so the pong that
// answers it gives the round-trip time (--print-ping-rtt). Pongs we did not ask for (the
// library's heartbeat, unsolicited ones) carry other payloads and are ignored.

import type { Websocket } from '../websocket.js';

export interface Pinger {
  /** Sends one ping now (the /ping command); `onRtt` gets its round-trip time. */
  ping(onRtt?: (ms: number) => void): void;
  stop(): void;
}

export function startPinger(ws: Websocket, intervalMs: number | null, onRtt: ((ms: number) => void) | null): Pinger {
  const outstanding = new Map<string, { sent: bigint; onRtt: ((ms: number) => void) | null }>();
  let sequence = 0;
  const ping = (callback?: (ms: number) => void): void => {
    if (ws.readyState !== 'open') return;
    const payload = `prise-ws ${++sequence}`;
    // Bounded: a peer that never answers leaves at most 64 pings waiting.
    if (outstanding.size >= 64) outstanding.delete(outstanding.keys().next().value!);
    outstanding.set(payload, { sent: process.hrtime.bigint(), onRtt: callback ?? onRtt });
    ws.ping(payload);
  };
  const onPong = (data: Buffer): void => {
    const key = data.toString('latin1');
    const waiting = outstanding.get(key);
    if (waiting === undefined) return;
    outstanding.delete(key);
    waiting.onRtt?.(Number(process.hrtime.bigint() - waiting.sent) / 1e6);
  };
  ws.on('pong', onPong);
  const timer = intervalMs === null ? null : setInterval(ping, intervalMs);
  return {
    ping,
    stop() {
      if (timer !== null) clearInterval(timer);
      ws.off('pong', onPong);
    },
  };
}
