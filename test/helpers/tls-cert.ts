// A throwaway self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI at
// test time (nothing secret is checked in). Valid for a day; made once per process.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Certificate {
  /** PEM private key. */
  readonly key: string;
  /** PEM certificate; also what a client passes as `ca` to trust it. */
  readonly cert: string;
}

let made: Certificate | null = null;

export function selfSignedCertificate(): Certificate {
  if (made !== null) return made;
  const dir = mkdtempSync(join(tmpdir(), 'prise-tls-'));
  try {
    // prettier-ignore
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
      '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    made = { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
    return made;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
