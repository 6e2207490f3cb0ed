// A small PKI made by the machine's `openssl` CLI (a real peer tool, not our code): a CA,
// a leaf for localhost signed by it, and an already expired leaf.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface Pki {
  ca: string;
  leaf: string;
  leafKey: string;
  expired: string;
}

let made: Pki | undefined;

export function pki(): Pki {
  if (made) return made;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Test CA', '-days', '30',
    '-addext', 'basicConstraints=critical,CA:TRUE');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '30', '-extfile', 'ext');
  run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'expired.pem', '-days', '-1', '-extfile', 'ext');
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  made = { ca: read('ca.pem'), leaf: read('leaf.pem'), leafKey: read('leaf.key'), expired: read('expired.pem') };
  fs.rmSync(dir, { recursive: true, force: true });
  return made;
}
