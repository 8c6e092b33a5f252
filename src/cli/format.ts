// How a message looks on the terminal or in a pipe: text as a line, binary as raw bytes in a pipe
// or as a hex preview on a TTY, and with --jsonl, JSON compacted (pipe) or pretty (TTY).

/** Bytes shown in a hex preview before it says how many more there are. */
export const PREVIEW_BYTES = 32;

export interface FormatOptions {
  /** The output is a terminal: no raw binary, pretty JSON. */
  readonly tty: boolean;
  readonly jsonl: boolean;
  /** -0: each message ends with NUL instead of a newline (binary ones too). */
  readonly nul: boolean;
}

/** `[binary 3 bytes] 01 02 ff`, cut after PREVIEW_BYTES. */
export function hexPreview(bytes: Uint8Array): string {
  const shown = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, PREVIEW_BYTES));
  const hex = shown.toString('hex').replace(/(..)(?!$)/g, '$1 ');
  const more = bytes.length > PREVIEW_BYTES ? ` … (${bytes.length - PREVIEW_BYTES} more)` : '';
  const unit = bytes.length === 1 ? 'byte' : 'bytes';
  return `[binary ${bytes.length} ${unit}]${hex === '' ? '' : ' ' + hex}${more}`;
}

/**
 * With --jsonl every output line is JSON: JSON text re-printed (compact or pretty), other text as
 * a JSON string, binary as {"binary": "<base64>"}.
 */
export function jsonLine(message: string | Buffer, pretty: boolean): string {
  let value: unknown;
  if (typeof message !== 'string') value = { binary: message.toString('base64') };
  else {
    try {
      value = JSON.parse(message);
    } catch {
      value = message;
    }
  }
  return pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
}

/** What to write for one incoming message. */
export function formatMessage(message: string | Buffer, options: FormatOptions): string | Buffer {
  const end = options.nul ? '\0' : '\n';
  if (options.jsonl) return jsonLine(message, options.tty) + end;
  if (typeof message === 'string') return message + end;
  if (options.tty) return hexPreview(message) + end;
  return options.nul ? Buffer.concat([message, Buffer.of(0)]) : message;
}

/** The error in a --jsonl input line, or null if it is JSON. */
export function jsonError(line: string): string | null {
  try {
    JSON.parse(line);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** `/binary <hex>` input: spaces allowed between bytes. Throws on anything that is not hex. */
export function parseHex(text: string): Buffer {
  const digits = text.replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(digits)) throw new Error(`not hex bytes: ${text}`);
  return Buffer.from(digits, 'hex');
}
