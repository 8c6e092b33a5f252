// The heartbeat policy, as time-driven state without timers: the shell calls beat() every
// pingInterval and reports what happens (anything heard from the peer, the ping reaching the
// wire); the heartbeat says when to ping and when a silent peer counts as gone. It holds no timer
// itself, so an idle connection costs one small object and a place in a shared interval.
//
//   if (heartbeat.beat(readerBehind)) sendPing();          // every pingInterval
//   const deadline = heartbeat.pingLeft(now);             // the ping is out of our queues
//   if (heartbeat.expired(now, readerBehind)) dropPeer(); // at the deadline

export const HeartbeatState = {
  /** No ping outstanding. */
  Idle: 'idle',
  /** A ping was queued behind our own outgoing data; its deadline starts once it leaves. */
  Queued: 'queued',
  /** The ping has left; the peer has until `deadline` to send anything at all. */
  AwaitingAnswer: 'awaiting-answer',
  /** Closing: no ping may follow our close frame, and the close timeout bounds the wait. */
  Stopped: 'stopped',
} as const;
export type HeartbeatState = (typeof HeartbeatState)[keyof typeof HeartbeatState];

export class Heartbeat {
  /** ms the peer gets to answer once the ping has left. */
  readonly timeout: number;
  #state: HeartbeatState = HeartbeatState.Idle;
  /** Anything arrived from the peer since the last beat. */
  #heard = false;
  #deadline = 0;

  constructor(timeout: number) {
    this.timeout = timeout;
  }

  get state(): HeartbeatState {
    return this.#state;
  }

  /** When the answer is due (ms, the clock pingLeft was given), while awaiting one. */
  get deadline(): number | null {
    return this.#state === HeartbeatState.AwaitingAnswer ? this.#deadline : null;
  }

  /** Bytes arrived from the peer: it is alive, whatever they are. */
  heard(): void {
    this.#heard = true;
    if (this.#state !== HeartbeatState.Stopped) this.#state = HeartbeatState.Idle;
  }

  /**
   * Every pingInterval: true when a ping should be sent now. A peer heard from since the last
   * beat needs none. While our own reader is behind, the peer's answer may sit unread in our
   * buffers, so it gets the benefit of the doubt.
   */
  beat(readerBehind: boolean): boolean {
    if (this.#state !== HeartbeatState.Idle) return false;
    if (this.#heard || readerBehind) {
      this.#heard = false;
      return false;
    }
    this.#state = HeartbeatState.Queued;
    return true;
  }

  /**
   * The ping left our queues (the socket was not backed up, or has drained since): the peer's
   * time to answer runs from now, not from when the ping was queued behind a long download.
   * Returns the deadline, or null when no ping is waiting to leave.
   */
  pingLeft(now: number): number | null {
    if (this.#state !== HeartbeatState.Queued) return null;
    this.#state = HeartbeatState.AwaitingAnswer;
    this.#deadline = now + this.timeout;
    return this.#deadline;
  }

  /** At or after the deadline: true when the peer counts as gone (nothing came back in time). */
  expired(now: number, readerBehind: boolean): boolean {
    if (this.#state !== HeartbeatState.AwaitingAnswer || now < this.#deadline) return false;
    this.#state = HeartbeatState.Idle;
    return !readerBehind;
  }

  /** Our close frame is out: no more pings. */
  stop(): void {
    this.#state = HeartbeatState.Stopped;
  }
}
