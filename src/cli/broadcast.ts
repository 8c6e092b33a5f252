// --broadcast: every message goes to every other client. One small group object, so that the
// way it is delivered (today Websocket.broadcast over a set; Topics once it lands) is a change
// in one place. The message is framed once and the same bytes go to every member.

import { Websocket } from '../websocket.js';

export interface Group {
  join(ws: Websocket): void;
  /** Sends `data` to every member but `from`; returns how many it went to. */
  send(from: Websocket, data: string | Uint8Array): number;
}

/** `delivered` is told of each member a message goes to (for the per-connection counts). */
export function broadcastGroup(delivered: (ws: Websocket) => void = () => {}): Group {
  const members = new Set<Websocket>();
  function* others(from: Websocket): Generator<Websocket> {
    for (const ws of members) {
      if (ws === from) continue;
      if (ws.readyState === 'open') delivered(ws); // Websocket.broadcast skips the others
      yield ws;
    }
  }
  return {
    join(ws) {
      members.add(ws);
      void ws.closeInfo.then(() => members.delete(ws));
    },
    send(from, data) {
      return Websocket.broadcast(others(from), data);
    },
  };
}
