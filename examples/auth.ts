// Authentication before the upgrade: the handler checks who is asking, answers 401 if nobody it
// knows, and only then accepts. /login hands out a signed value (HMAC, node:crypto); /chat takes
// it as a cookie, /feed as a subprotocol 'auth.<token>' beside the real one, 'chat'.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { accept, requestedProtocols, serve } from 'prise-ws';

const secret = process.env.SECRET ?? randomBytes(32).toString('hex');
const sign = (user: string): string => createHmac('sha256', secret).update(user).digest('base64url');

/** `user.signature` back to the user, or null if it was not made here. */
function verify(value: string | undefined): string | null {
  const dot = value?.lastIndexOf('.') ?? -1;
  if (value === undefined || dot <= 0) return null;
  const user = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(sign(user));
  return given.length === expected.length && timingSafeEqual(given, expected) ? user : null;
}

function cookie(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

const unauthorized = { status: 401, body: 'log in first: /login?user=you\n' };

const server = await serve(
  (request) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/login') {
      const user = url.searchParams.get('user') ?? '';
      if (!/^[a-z]{1,32}$/.test(user)) return { status: 400, body: 'user: 1 to 32 letters a-z\n' };
      const token = `${user}.${sign(user)}`;
      const headers = { 'Set-Cookie': `session=${token}; HttpOnly; SameSite=Strict; Path=/` };
      return { status: 200, headers, body: token + '\n' };
    }
    let user: string | null = null;
    if (url.pathname === '/chat') user = verify(cookie(request, 'session'));
    if (url.pathname === '/feed') {
      const offered = requestedProtocols(request).find((p) => p.startsWith('auth.'));
      user = verify(offered?.slice('auth.'.length));
      if (user !== null && !requestedProtocols(request).includes('chat')) return { status: 400, body: 'offer chat\n' };
    }
    if (user === null) return unauthorized;
    // The token went as a subprotocol offer; the answer names the real protocol, never the token.
    return accept(request, url.pathname === '/feed' ? 'chat' : null, async (ws) => {
      ws.write(`hello ${user}`);
      for await (const message of ws) ws.write(`${user}: ${message}`);
    });
  },
  { port: Number(process.env.PORT ?? 8080) },
);

const { port } = server.address() as { port: number };
console.log(`auth example on http://127.0.0.1:${port}/ (GET /login?user=ada, then ws://127.0.0.1:${port}/chat)`);
