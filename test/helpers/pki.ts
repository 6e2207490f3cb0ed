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

export interface RevocationPki {
  /** the CA (PEM) that signs everything below, and its CRL revoking `revoked` */
  ca: string;
  crl: string;
  /** a server certificate for localhost / 127.0.0.1 and its key */
  server: string;
  serverKey: string;
  /** a client certificate in good standing, and one the CRL revokes (with their keys) */
  client: string;
  clientKey: string;
  revoked: string;
  revokedKey: string;
  /** a client certificate signed by another CA (untrusted), and its key */
  stranger: string;
  strangerKey: string;
}

let revocation: RevocationPki | undefined;

/** A CA with server and client certificates and a CRL, made by the machine's `openssl ca`. */
export function revocationPki(): RevocationPki {
  if (revocation) return revocation;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-crl-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'crlnumber'), '01\n');
  fs.writeFileSync(
    path.join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = own',
      '[own]',
      'database = index.txt',
      'crlnumber = crlnumber',
      'default_md = sha256',
      'default_crl_days = 30',
      '',
    ].join('\n'),
  );
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Revocation Test CA', '-days', '30',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-subj', '/CN=Other CA', '-days', '30',
    '-addext', 'basicConstraints=critical,CA:TRUE');
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const issue = (name: string, cn: string, ext: string, ca = 'ca') => {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '30', '-extfile', ext);
  };
  issue('server', 'localhost', 'server.ext');
  issue('client', 'good client', 'client.ext');
  issue('revoked', 'revoked client', 'client.ext');
  issue('stranger', 'stranger', 'client.ext', 'other');
  run('ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-revoke', 'revoked.pem');
  run('ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-gencrl', '-out', 'crl.pem');
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  revocation = {
    ca: read('ca.pem'),
    crl: read('crl.pem'),
    server: read('server.pem'),
    serverKey: read('server.key'),
    client: read('client.pem'),
    clientKey: read('client.key'),
    revoked: read('revoked.pem'),
    revokedKey: read('revoked.key'),
    stranger: read('stranger.pem'),
    strangerKey: read('stranger.key'),
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return revocation;
}
