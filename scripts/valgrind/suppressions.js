'use strict';
// Valgrind suppressions for `npm run test:valgrind`, one group per reason.
// scripts/test-valgrind.js writes them out as a .supp file (build-check/valgrind.supp) and
// prints how often each one fired. Only reports INSIDE V8, Node or OpenSSL are suppressed:
// no entry matches a function of native/ except the named ones in group 4.
//
// Why so many OpenSSL names: OpenSSL 1.0.2's RNG (crypto/rand/md_rand.c,
// ssleay_rand_bytes) deliberately hashes an uninitialised stack buffer into its pool
// unless built with -DPURIFY. Memcheck then marks every byte the RNG returns — and every
// value computed from it: RSA/EC keys, nonces, session ids, master secrets, ciphertext —
// as "undefined", and reports each branch or table lookup on them ("Conditional jump ...
// depends on uninitialised value", "Use of uninitialised value of size 8"). Those values
// are in fact defined. The reports surface in whichever OpenSSL function touches the data
// (bignum, SHA, ASN.1, hash tables, record layer), so the groups below match the TOP frame
// by OpenSSL's naming (C names; native/ is C++, and valgrind matches C++ frames by their
// mangled `_Z...` names, which none of these patterns can match).
// Invalid reads/writes, bad frees and leaks are never suppressed here.

const UNINIT = ['Memcheck:Cond', 'Memcheck:Value1', 'Memcheck:Value2', 'Memcheck:Value4', 'Memcheck:Value8', 'Memcheck:Value16', 'Memcheck:Value32'];

// Top-frame name patterns of OpenSSL 1.0.2's libcrypto / libssl (statically linked into
// openssl_session_cache.node).
const OPENSSL_FUNCTIONS = [
  'BN_*', 'bn_*', 'BN*', // bignum arithmetic (RSA keygen, signatures, DH)
  'RSA_*', 'rsa_*', 'int_rsa_*', 'probable_prime', 'witness', // RSA
  'EC_*', 'ec_*', 'ecp_*', 'ECDSA_*', 'ecdsa_*', 'ECDH_*', 'ecdh_*', 'o2i_*', 'i2o_*', // elliptic curves
  'DH_*', 'dh_*', 'compute_key', 'generate_key',
  'SHA*', 'sha*', 'MD5*', 'md5*', 'HMAC*', 'hmac_*', 'EVP_*', 'evp_*', 'tls1_P_hash', 'tls1_PRF', // digests, PRF
  'AES_*', 'aes*', 'vpaes*', 'gcm_*', 'CRYPTO_gcm128_*', 'CRYPTO_*', 'OPENSSL_*', 'ERR_*', // ciphers, util
  'ssleay_rand_*', 'RAND_*', 'rand_*', // the RNG itself (the source of the taint)
  'ASN1_*', 'asn1_*', 'c2i_*', 'i2c_*', 'd2i_*', 'i2d_*', 'bn_i2c', 'x509_*', 'X509*', 'OBJ_*', 'obj_*', 'PEM_*', 'pem_*', // encodings
  'BUF_*', 'BIO_*', 'bio_*', 'mem_*', // buffers
  'lh_*', 'getrn', 'ssl_session_hash', 'ssl_session_cmp', 'ssl_session_LHASH_*', // the session cache's hash table (ids are random)
  'ssl3_*', 'ssl23_*', 'tls1_*', 'ssl_*', 'SSL_*', 'dtls1_*', // the TLS state machine (record layer, finished MACs)
  // session tickets (the offered-session paths resume by ticket): the ticket name,
  // HMAC and AES keys are RAND_pseudo_bytes of SSL_CTX_new, so tls_decrypt_ticket's
  // compare and the PRF's HMAC key set-up (pkey_hmac_*) branch on RNG-derived bytes
  'tls_decrypt_ticket', 'pkey_hmac_*',
];

// libc / valgrind replacement functions that OpenSSL calls with RNG-derived data
const LIBC_WRAPPERS = ['memmove', 'memcpy', 'memcpy@*', 'memset', 'bcmp', 'memcmp', '__memcmp_*', '__memcpy_*', 'malloc', 'calloc', 'realloc', 'strlen'];

function groups() {
  const g = [];
  // 1. OpenSSL-internal uses of RNG-derived ("undefined") data, top frame in OpenSSL
  for (const kind of UNINIT) {
    for (const fn of OPENSSL_FUNCTIONS) {
      g.push({ group: 'openssl-rng-taint', kind, frames: [`fun:${fn}`] });
    }
    // OpenSSL assembly (bn_mul4x_mont, ecp_nistz256_*) often has no unwind info: `?` callers
    for (const fn of LIBC_WRAPPERS) {
      for (const caller of OPENSSL_FUNCTIONS) g.push({ group: 'openssl-rng-taint (via libc)', kind, frames: [`fun:${fn}`, `fun:${caller}`] });
    }
  }
  // 2. Node/libuv writing ciphertext (derived from RNG-tainted keys) to a socket
  g.push({ group: 'node-writes-rng-derived-bytes', kind: 'Memcheck:Param', extra: 'write(buf)', frames: ['...', 'fun:uv__*'] });
  g.push({ group: 'node-writes-rng-derived-bytes', kind: 'Memcheck:Param', extra: 'writev(vector[...])', frames: ['...', 'fun:uv__*'] });
  g.push({ group: 'node-writes-rng-derived-bytes', kind: 'Memcheck:Param', extra: 'sendmsg(msg.msg_iov[0])', frames: ['...', 'fun:uv__*'] });
  // 3. Node/V8 internals
  for (const kind of UNINIT) {
    // V8's conservative stack scanning (cppgc) reads every stack slot, initialised or not
    g.push({ group: 'v8-conservative-stack-scan', kind, frames: ['...', 'fun:*IteratePointersInStack*'] });
    // Buffer.compare / equals / indexOf and string encoding of RNG-derived bytes (ids, DER)
    // (valgrind matches C++ frames by their MANGLED names: _ZN4node6Buffer = node::Buffer)
    g.push({ group: 'node-reads-rng-derived-bytes', kind, frames: ['fun:_ZN4node6Buffer*'] });
    g.push({ group: 'node-reads-rng-derived-bytes', kind, frames: ['obj:*/vgpreload_memcheck*', 'fun:_ZN4node6Buffer*'] }); // bcmp/memcmp
    g.push({ group: 'node-reads-rng-derived-bytes', kind, frames: ['fun:_ZN4node11StringBytes*'] });
    g.push({ group: 'node-reads-rng-derived-bytes', kind, frames: ['obj:*/vgpreload_memcheck*', 'fun:_ZN4node11StringBytes*'] });
    g.push({ group: 'node-reads-rng-derived-bytes', kind, frames: ['fun:_ZN7simdutf*'] });
  }
  // 3b. Node-API type tags: the addon makes its per-environment tags with RAND_bytes
  //     (native/addon.cc RandomTag), so V8 builds a BigInt from "undefined" words and
  //     napi_check_object_type_tag compares them
  for (const kind of UNINIT) {
    g.push({ group: 'node-type-tag-from-rng-bytes', kind, frames: ['...', 'fun:napi_type_tag_object'] });
    g.push({ group: 'node-type-tag-from-rng-bytes', kind, frames: ['...', 'fun:napi_check_object_type_tag'] });
  }
  // 4. The native/ functions that branch on an RNG-derived value, each named:
  //    generateSelfSigned tests RSA_generate_key_ex's result, which memcheck considers
  //    derived from the pool; FromValue tests the result of the type-tag check (3b).
  g.push({ group: 'native-generateSelfSigned-branches-on-keygen-result', kind: 'Memcheck:Cond', frames: ['fun:_ZN14x509_generator21JS_generateSelfSigned*'] }); // x509_generator::JS_generateSelfSigned
  g.push({ group: 'native-FromValue-branches-on-type-tag-check', kind: 'Memcheck:Cond', frames: ['fun:_ZN16SslContextHandle9FromValue*'] }); // SslContextHandle::FromValue
  g.push({ group: 'native-FromValue-branches-on-type-tag-check', kind: 'Memcheck:Cond', frames: ['fun:_ZN16SslSessionHandle9FromValue*'] }); // SslSessionHandle::FromValue
  //    OpenSSL's memory hooks (openssl_memory.cc) compare the size OpenSSL asks for with the
  //    small-block size, and pass larger ones to malloc: OpenSSL computes sizes from
  //    RNG-derived values (a new key's bignums, its DER and PEM), so that compare is reported.
  //    Only as CRYPTO_malloc / CRYPTO_realloc call them.
  const ALLOCATE = 'fun:_ZN12_GLOBAL__N_18AllocateEmPKci'; // (anonymous namespace)::Allocate
  const REALLOCATE = 'fun:_ZN12_GLOBAL__N_110ReallocateEPvmPKci'; // (anonymous namespace)::Reallocate
  for (const [hook, caller] of [[ALLOCATE, 'fun:CRYPTO_malloc'], [REALLOCATE, 'fun:CRYPTO_realloc']]) {
    g.push({ group: 'native-memory-hooks-compare-requested-size', kind: 'Memcheck:Cond', frames: [hook, caller] });
    g.push({ group: 'native-memory-hooks-compare-requested-size', kind: 'Memcheck:Cond', frames: ['fun:malloc', hook, caller] });
  }
  return g;
}

/** The .supp text; every entry is named `<group>#<n>` so the run can count per group. */
function suppressionFile() {
  const out = ['# generated by scripts/test-valgrind.js from scripts/valgrind/suppressions.js: see the reasons there', ''];
  groups().forEach((s, i) => {
    out.push('{');
    out.push(`   ${s.group}#${i}`);
    out.push(`   ${s.kind}`);
    if (s.extra) out.push(`   ${s.extra}`);
    for (const f of s.frames) out.push(`   ${f}`);
    out.push('}');
  });
  return out.join('\n') + '\n';
}

const REASONS = {
  'openssl-rng-taint': 'OpenSSL 1.0.2 md_rand mixes uninitialised bytes into its pool (no -DPURIFY); RNG-derived values look undefined',
  'openssl-rng-taint (via libc)': 'the same, inside memmove/memcmp/malloc called by OpenSSL',
  'node-writes-rng-derived-bytes': 'libuv writes TLS ciphertext computed from RNG-derived keys',
  'v8-conservative-stack-scan': "V8's cppgc scans the machine stack conservatively, reading uninitialised slots",
  'node-reads-rng-derived-bytes': 'Node/V8 compare or encode bytes (ids, DER) that came from the RNG',
  'native-generateSelfSigned-branches-on-keygen-result': 'generateSelfSigned tests RSA_generate_key_ex\'s result, computed from the RNG',
  'node-type-tag-from-rng-bytes': 'Node-API type tags are RAND_bytes output (addon.cc RandomTag); V8 turns them into BigInts and compares them',
  'native-FromValue-branches-on-type-tag-check': 'FromValue tests napi_check_object_type_tag\'s answer, computed from those random tags',
  'native-memory-hooks-compare-requested-size': "OpenSSL's memory hooks compare the size OpenSSL asks for, computed from RNG-derived values (new keys, their DER/PEM)",
};

module.exports = { suppressionFile, REASONS };
