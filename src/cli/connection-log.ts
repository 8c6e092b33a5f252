// Server mode's log: one line on stderr when a connection opens and one when it closes, with
// the remote address, the subprotocol, how long it lasted, messages in and out, and the close
// code. --quiet turns these off.

import type { CloseInfo } from '../websocket.js';

/** Messages a connection received and sent. */
export interface Counts {
  in: number;
  out: number;
}

export interface ConnectionLog {
  opened(id: number, remote: string, path: string, protocol: string | null, httpVersion: string): void;
  closed(id: number, remote: string, protocol: string | null, ms: number, counts: Counts, info: CloseInfo): void;
  /** A line about connection `id` that is not an open or close (an --exec process's stderr). */
  note(id: number, text: string): void;
}

function line(text: string): void {
  process.stderr.write(`${new Date().toISOString()} ${text}\n`);
}

export function connectionLog(quiet: boolean): ConnectionLog {
  return {
    opened(id, remote, path, protocol, httpVersion) {
      if (!quiet) line(`#${id} open ${remote} path=${path} protocol=${protocol ?? '-'} http=${httpVersion}`);
    },
    closed(id, remote, protocol, ms, counts, info) {
      if (quiet) return;
      const reason = info.reason === '' ? '' : ` reason=${JSON.stringify(info.reason)}`;
      const seconds = (ms / 1000).toFixed(3);
      line(`#${id} close ${remote} protocol=${protocol ?? '-'} duration=${seconds}s in=${counts.in} out=${counts.out} code=${info.code}${reason}`);
    },
    note(id, text) {
      line(`#${id} ${text}`);
    },
  };
}
