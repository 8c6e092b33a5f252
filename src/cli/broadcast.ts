// --broadcast: every message goes to every other client, through Topics (one topic for all):
// the message is framed once and the same bytes go to every member; a member whose queue is
// over Topics' slow-subscriber limit misses it rather than slowing the others.

import { Topics } from '../topics/topics.js';
import type { Websocket } from '../websocket.js';

export interface Group {
  join(ws: Websocket): void;
  /** Sends `data` to every member but `from`; returns how many it went to. */
  send(from: Websocket, data: string | Uint8Array): number;
}

const TOPIC = 'broadcast';

/** `delivered` is told of each member a message goes to (for the per-connection counts). */
export function broadcastGroup(delivered: (ws: Websocket) => void = () => {}): Group {
  const topics = new Topics();
  const members = new Set<Websocket>();
  return {
    join(ws) {
      members.add(ws);
      topics.subscribe(ws, TOPIC); // Topics drops it once it closes
      void ws.closeInfo.then(() => members.delete(ws));
    },
    send(from, data) {
      let count = 0;
      for (const ws of members) {
        if (ws === from || ws.readyState !== 'open') continue;
        delivered(ws);
        count++;
      }
      void topics.publish(TOPIC, data, { except: from });
      return count;
    },
  };
}
