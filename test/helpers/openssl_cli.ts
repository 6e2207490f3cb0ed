// The machine's `openssl` command (OpenSSL 1.1 or 3), an interoperability peer of some
// tests. When it is missing the test fails with a message saying what to install, rather
// than with a bare ENOENT from spawn.
import { spawnSync } from 'child_process';

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
