// What may be sent as a message: text as a string, binary as any bytes a browser's WebSocket
// takes (Buffer, Uint8Array or another typed array, DataView, ArrayBuffer). Anything else is a
// programming error, reported at the call with what was passed.

/** The message to frame: a string, or the bytes as a Buffer view (never copied). */
export function toMessage(data: unknown): string | Buffer {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) return Buffer.from(data);
  throw new TypeError(`a message is a string, a Buffer, a typed array or an ArrayBuffer, not ${describe(data)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return `${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`} (${String(value).slice(0, 40)})`;
}
