'use strict';
// The isolation check of a built addon: its dynamic symbol table (what the dynamic linker
// can bind, in either direction) holds Node-API imports and no OpenSSL symbol, so the
// OpenSSL 1.0.2 inside never meets the OpenSSL 3 inside Node. `nm` is the target's own
// (aarch64-linux-gnu-nm for an arm64 binary).
const { spawnSync } = require('child_process');

const OPENSSL_SYMBOL = /^(SSL_|SSLeay|CRYPTO_|EVP_|BIO_|ERR_|X509_|PEM_|RSA_|d2i_|i2d_|OPENSSL_|TLSv1|DTLS|ASN1_|BN_|EC_|DH_|DSA_|HMAC|OBJ_|RAND_)/;

function dynamicSymbols(file, nm = 'nm') {
  const r = spawnSync(nm, ['-D', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error || r.status !== 0) throw new Error(`${nm} -D ${file} failed: ${r.error ? r.error.message : r.stderr}`);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/).pop() || '')
    .filter(Boolean);
}

/** { ok, why, napi, total } */
function isolation(file, nm = 'nm') {
  const names = dynamicSymbols(file, nm).map((n) => n.replace(/@.*$/, ''));
  const napi = names.filter((n) => n.startsWith('napi_')).length;
  const leaked = names.filter((n) => OPENSSL_SYMBOL.test(n));
  if (napi === 0) return { ok: false, why: 'no napi_ import listed (is this a Node-API addon?)', napi, total: names.length };
  if (leaked.length) return { ok: false, why: `OpenSSL symbols in the dynamic table: ${leaked.slice(0, 10).join(', ')}`, napi, total: names.length };
  return { ok: true, napi, total: names.length };
}

/** the newest GLIBC_x.y version the binary needs, e.g. '2.17' */
function requiredGlibc(file, nm = 'nm') {
  let best;
  for (const s of dynamicSymbols(file, nm)) {
    const m = /@+GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/.exec(s);
    if (!m) continue;
    const v = [Number(m[1]), Number(m[2]), Number(m[3] || 0)];
    if (!best || v[0] > best[0] || (v[0] === best[0] && (v[1] > best[1] || (v[1] === best[1] && v[2] > best[2])))) best = v;
  }
  return best ? best.slice(0, best[2] ? 3 : 2).join('.') : undefined;
}

module.exports = { isolation, requiredGlibc, dynamicSymbols };
