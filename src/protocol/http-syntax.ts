// RFC 7230 syntax shared by the handshake and extension parsers: tokens, optional white space,
// comma lists. Char-code loops only, so each runs in linear time on any input.

/** Splits an RFC 7230 comma list, trimming optional white space and dropping empty elements. */
export function splitList(value: string): string[] {
  const items: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x2c /* , */) {
      const item = trimOws(value.slice(start, i));
      if (item !== '') items.push(item);
      start = i + 1;
    }
  }
  return items;
}

/** Strips RFC 7230 optional white space (spaces and tabs), and nothing else. */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** True when a comma list contains `token`, compared case-insensitively. */
export function listHas(value: string, token: string): boolean {
  for (const item of splitList(value)) {
    if (item.length === token.length && item.toLowerCase() === token) return true;
  }
  return false;
}

/** RFC 7230 §3.2.6 token: one or more tchar. */
export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && "!#$%&'*+-.^_`|~".indexOf(value[i]!) === -1) return false;
  }
  return true;
}
