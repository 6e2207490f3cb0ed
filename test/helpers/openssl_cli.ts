// The machine's `openssl` command (OpenSSL 1.1 or 3), an interoperability peer of some
// tests. When it is missing the test fails with a message saying what to install, rather
// than with a bare ENOENT from spawn.
import { spawn, spawnSync } from 'child_process';
import { endStdin } from './children';

let found: string | undefined;

/** `openssl version` of the machine's openssl command; throws a clear Error when there is none */
export function requireOpensslCli(): string {
  if (found !== undefined) return found;
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      'this test needs the `openssl` command-line tool (OpenSSL 1.1 or 3) on PATH as an interoperability peer, ' +
        `and it could not be run (${r.error ? r.error.message : `exit status ${r.status}`}). ` +
        'Install it (Debian/Ubuntu: apt-get install openssl) and run the tests again.',
    );
  }
  found = r.stdout.trim();
  return found;
}

/**
 * Runs the machine's `openssl s_client ...args` to its exit, stdin at EOF at once (s_client
 * then closes after the handshake); stdout and stderr together in `out`.
 */
export function sClient(args: string[]): Promise<{ code: number | null; out: string }> {
  requireOpensslCli();
  return new Promise((resolve, reject) => {
    const p = spawn('openssl', ['s_client', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
    endStdin(p, undefined, reject);
  });
}
