// A Chrome DevTools Protocol client over prise's own connect(): JSON commands with ids, their
// replies, and events, optionally for one attached target (flattened sessions). Just enough to
// open a page and evaluate scripts in it.
//
//   const cdp = await Cdp.open(browser.devtoolsUrl);
//   const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });

import { connect, type Websocket } from 'prise-ws';

type Json = Record<string, unknown>;

interface Pending {
  readonly method: string;
  resolve(result: Json): void;
  reject(error: Error): void;
}

interface Waiter {
  readonly method: string;
  readonly sessionId: string | undefined;
  resolve(params: Json): void;
}

export class Cdp {
  readonly #ws: Websocket;
  readonly #pending = new Map<number, Pending>();
  #waiters: Waiter[] = [];
  #nextId = 1;
  #closedError: Error | null = null;

  static async open(url: string): Promise<Cdp> {
    // The DevTools endpoint refuses requests with an Origin it was not told to allow; we send none.
    return new Cdp(await connect(url, { maxPayload: 256 * 1024 * 1024 }));
  }

  private constructor(ws: Websocket) {
    this.#ws = ws;
    ws.on('data', (text: string | Buffer) => this.#dispatch(JSON.parse(text.toString()) as Json));
    ws.on('error', () => {});
    void ws.closeInfo.then((info) => {
      this.#closedError = new Error(`devtools connection closed (${info.code} ${info.reason})`);
      for (const pending of this.#pending.values()) pending.reject(this.#closedError);
      this.#pending.clear();
    });
  }

  /** Sends a command (to a target's session when `sessionId` is given) and resolves with its result. */
  send(method: string, params: Json = {}, sessionId?: string): Promise<Json> {
    if (this.#closedError !== null) return Promise.reject(this.#closedError);
    const id = this.#nextId++;
    const message: Json = { id, method, params };
    if (sessionId !== undefined) message['sessionId'] = sessionId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { method, resolve, reject });
      this.#ws.write(JSON.stringify(message));
    });
  }

  /** The next event named `method` (from `sessionId`, if given). Call before what triggers it. */
  event(method: string, sessionId?: string): Promise<Json> {
    return new Promise((resolve) => this.#waiters.push({ method, sessionId, resolve }));
  }

  /** Closes the DevTools connection (the browser keeps running). */
  async close(): Promise<void> {
    this.#ws.close();
    await this.#ws.closeInfo;
  }

  #dispatch(message: Json): void {
    if (typeof message['id'] === 'number') {
      const pending = this.#pending.get(message['id']);
      if (pending === undefined) return;
      this.#pending.delete(message['id']);
      const error = message['error'] as { message?: string } | undefined;
      if (error !== undefined) pending.reject(new Error(`${pending.method}: ${error.message ?? JSON.stringify(error)}`));
      else pending.resolve((message['result'] as Json | undefined) ?? {});
      return;
    }
    const method = message['method'];
    const sessionId = message['sessionId'];
    const waiter = this.#waiters.find((w) => w.method === method && (w.sessionId === undefined || w.sessionId === sessionId));
    if (waiter === undefined) return;
    this.#waiters = this.#waiters.filter((w) => w !== waiter);
    waiter.resolve((message['params'] as Json | undefined) ?? {});
  }
}
