// --serve-dir: plain GET and HEAD requests are answered with files from one directory, beside
// the WebSocket endpoint. Nothing outside the directory is reachable: the URL path is decoded
// once, '..' segments, NUL and backslashes are refused, and the real path (symlinks resolved)
// must still lie inside the real directory.

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import type { Request, Response } from '../protocol/response.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};

function text(status: number, body: string): Response {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: body + '\n' };
}

/** The file under `root` that `request` names, as a response (404 for anything else). */
export async function serveFile(root: string, request: Request): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return { ...text(405, 'method not allowed'), headers: { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' } };
  }
  const relative = safeRelativePath(request.url ?? '/');
  if (relative === null) return text(400, 'bad path');
  let file: string;
  try {
    const base = await realpath(root);
    file = await realpath(join(base, relative));
    if (file !== base && !file.startsWith(base + sep)) return text(404, 'not found');
    if ((await stat(file)).isDirectory()) file = await realpath(join(file, 'index.html'));
    if (!file.startsWith(base + sep)) return text(404, 'not found');
    const info = await stat(file);
    if (!info.isFile()) return text(404, 'not found');
    const headers = { 'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': info.size };
    if (request.method === 'HEAD') return { status: 200, headers };
    return { status: 200, headers, body: createReadStream(file) };
  } catch {
    return text(404, 'not found');
  }
}

/** The URL's path as a relative file path, or null if it tries to leave the directory. */
export function safeRelativePath(url: string): string | null {
  const query = url.search(/[?#]/);
  const raw = query === -1 ? url : url.slice(0, query);
  if (!raw.startsWith('/')) return null;
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) return null;
  return segments.join('/');
}
