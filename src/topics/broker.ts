// What Topics needs from whatever carries messages between processes: named channels of
// bytes, at most once. Topics owns the envelope (envelope.ts) and the local subscribers; a
// broker only moves buffers. redisBroker() is the one we ship; another (NATS, Postgres
// LISTEN/NOTIFY) fits the same shape.

export interface Broker {
  /**
   * Called once, by the Topics the broker is given to, before anything else: from then on the
   * broker hands every message that arrives on a subscribed topic to `receive`.
   */
  start(receive: (topic: string, message: Buffer) => void): void;
  /** Start receiving `topic`. Topics calls it when the first local subscriber of a topic arrives. */
  subscribe(topic: string): void;
  /** Stop receiving `topic`. Topics calls it when the last local subscriber of a topic leaves. */
  unsubscribe(topic: string): void;
  /**
   * Sends `message` to every process subscribed to `topic`, this one included. Resolves true
   * once the broker has taken it, false if it was lost; never rejects. Messages from one caller
   * go out in the order of the calls.
   */
  publish(topic: string, message: Buffer): Promise<boolean>;
  /** Unsubscribes from everything and lets go of the connections (without closing them). */
  close(): Promise<void>;
}
