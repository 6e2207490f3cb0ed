#include "session_codec.h"

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <cstdint>
#include <string>

#include "cipher_table.h"
#include "openssl_error.h"
#include "openssl_pointers.h"
#include "pem_password.h"
#include "error_codes.h"

extern "C" SSL_SESSION* ssl_session_dup(SSL_SESSION* src, int ticket);

namespace {

// A bounds-checked DER reader over the bytes d2i_SSL_SESSION accepted.
class Der {
 public:
  Der(const unsigned char* p, size_t n) : p_(p), end_(p + n) {}
  // reads one tag + length; false if malformed or past the end
  bool Header(unsigned* tag, size_t* length) {
    if (end_ - p_ < 2) return false;
    *tag = *p_++;
    unsigned char first = *p_++;
    if (first < 0x80) {
      *length = first;
    } else {
      unsigned n = first & 0x7f;
      if (n == 0 || n > sizeof(size_t) || static_cast<size_t>(end_ - p_) < n) return false;
      size_t l = 0;
      for (unsigned i = 0; i < n; i++) l = (l << 8) | *p_++;
      *length = l;
    }
    return static_cast<size_t>(end_ - p_) >= *length;
  }
  bool Skip(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

 private:
  const unsigned char* p_;
  const unsigned char* end_;
};

// The encoded lengths of the fields d2i_SSL_SESSION truncates. SEQUENCE { INTEGER
// version, OCTET STRING ssl_version, OCTET STRING cipher, OCTET STRING session_id,
// OCTET STRING master_key, [0] IMPLICIT OCTET STRING key_arg OPTIONAL, ... }
struct EncodedLengths {
  size_t sessionId = 0;
  size_t masterKey = 0;
  size_t keyArg = 0;
  size_t timeInteger = 0;     // content bytes of [1] time's INTEGER (0: absent)
  size_t timeoutInteger = 0;  // content bytes of [2] timeout's INTEGER
};

bool ReadLengths(const unsigned char* der, size_t n, EncodedLengths* out) {
  Der d(der, n);
  unsigned tag;
  size_t len;
  if (!d.Header(&tag, &len) || tag != 0x30) return false;
  for (int i = 0; i < 3; i++) {
    if (!d.Header(&tag, &len) || !d.Skip(len)) return false;
  }
  if (!d.Header(&tag, &len) || tag != 0x04) return false;
  out->sessionId = len;
  if (!d.Skip(len) || !d.Header(&tag, &len) || tag != 0x04) return false;
  out->masterKey = len;
  if (!d.Skip(len)) return false;
  Der rest = d;
  if (rest.Header(&tag, &len) && tag == 0x80) {
    out->keyArg = len;
    if (!rest.Skip(len)) return true;
    d = rest;
  }
  // [1] EXPLICIT INTEGER time, [2] EXPLICIT INTEGER timeout (both optional)
  for (unsigned want : {0xa1u, 0xa2u}) {
    Der at = d;
    size_t outer;
    if (!at.Header(&tag, &outer) || tag != want) continue;
    Der inner = at;
    if (inner.Header(&tag, &len) && tag == 0x02) (want == 0xa1 ? out->timeInteger : out->timeoutInteger) = len;
    if (!at.Skip(outer)) break;
    d = at;
  }
  return true;
}

// The same walk over bytes d2i has not seen yet: true when a time or timeout INTEGER has
// more than 7 content bytes. 1.0.2's ASN1_INTEGER_get shifts a signed long left past its
// range on those (undefined behaviour, found by UBSan in `npm run fuzz`), so such input
// never reaches d2i_SSL_SESSION.
bool OversizedTimes(const unsigned char* der, size_t n) {
  EncodedLengths l;
  if (!ReadLengths(der, n, &l)) return false;  // d2i decides
  return l.timeInteger > 7 || l.timeoutInteger > 7;
}

bool SafeSeconds(long v) { return v >= 0 && v <= session_codec::kMaxSafeSeconds; }

}  // namespace

namespace session_codec {

SSL_SESSION* Decode(Napi::Env env, const unsigned char* der, size_t length) {
  if (OversizedTimes(der, length)) {
    openssl_error::ThrowRangeCoded(env, error_codes::kSessionDecode,
                                   "the session's time or timeout has more than 7 bytes: outside 0 to 2^53-1 seconds, "
                                   "the range a JavaScript number holds exactly");
    return nullptr;
  }
  const unsigned char* p = der;
  SslSessionPointer s(d2i_SSL_SESSION(nullptr, &p, static_cast<long>(length)));
  if (!s) {
    openssl_error::Throw(env, "d2i_SSL_SESSION", error_codes::kSessionDecode);
    return nullptr;
  }
  if (p != der + length) {
    openssl_error::Throw(env, "d2i_SSL_SESSION: trailing bytes after the session", error_codes::kSessionDecode);
    return nullptr;
  }
  EncodedLengths n;
  if (!ReadLengths(der, length, &n)) {
    openssl_error::ThrowRangeCoded(env, error_codes::kSessionDecode, "d2i_SSL_SESSION: cannot read the session's field lengths");
    return nullptr;
  }
  if (n.sessionId > SSL_MAX_SSL_SESSION_ID_LENGTH) {
    std::string m = "the session id is " + std::to_string(n.sessionId) +
                    " bytes; at most 32 (OpenSSL 1.0.2 would silently keep the first 32)";
    openssl_error::ThrowRangeCoded(env, error_codes::kSessionDecode, m.c_str());
    return nullptr;
  }
  if (n.masterKey > SSL_MAX_MASTER_KEY_LENGTH) {
    std::string m = "the master key is " + std::to_string(n.masterKey) +
                    " bytes; at most 48 (OpenSSL 1.0.2 would silently keep the first 48)";
    openssl_error::ThrowRangeCoded(env, error_codes::kSessionDecode, m.c_str());
    return nullptr;
  }
  if (n.keyArg > SSL_MAX_KEY_ARG_LENGTH) {
    std::string m = "the key_arg is " + std::to_string(n.keyArg) + " bytes; at most 8 (OpenSSL 1.0.2 would silently truncate it)";
    openssl_error::ThrowRangeCoded(env, error_codes::kSessionDecode, m.c_str());
    return nullptr;
  }
  if (!SafeSeconds(SSL_SESSION_get_time(s.get())) || !SafeSeconds(SSL_SESSION_get_timeout(s.get()))) {
    std::string m = "the session's time (" + std::to_string(SSL_SESSION_get_time(s.get())) + ") or timeout (" +
                    std::to_string(SSL_SESSION_get_timeout(s.get())) +
                    ") is outside 0 to 2^53-1 seconds, the range a JavaScript number holds exactly";
    openssl_error::ThrowRangeCoded(env, error_codes::kSessionDecode, m.c_str());
    return nullptr;
  }
  // d2i sets cipher_id only; resolve it now as ssl_get_prev_session would (a suite 1.0.2
  // does not know stays unresolved: cipher_id is still what i2d writes back)
  if (s->cipher == nullptr) s->cipher = cipher_table::FindById(s->cipher_id);
  return s.release();
}

SSL_SESSION* DecodePem(Napi::Env env, const std::string& pem) {
  BioPointer bio = ReadOnlyMemoryBio(pem);
  if (!bio) {
    openssl_error::Throw(env, "PEM_read_bio_SSL_SESSION", error_codes::kSessionDecode);
    return nullptr;
  }
  PemPassword password;  // sessions have no pass phrase option: an encrypted PEM fails
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_bytes_read_bio(&data, &len, nullptr, PEM_STRING_SSL_SESSION, bio.get(), PemPassword::Callback, password.data()) != 1) {
    password.ThrowFailure(env, "PEM_read_bio_SSL_SESSION", error_codes::kSessionDecode, "session PEM cannot be encrypted here");
    return nullptr;
  }
  OpenSSLMemory<unsigned char> owned(data);
  return Decode(env, data, static_cast<size_t>(len));
}

Napi::Value Print(Napi::Env env, SSL_SESSION* s) {
  // 1.0.2's printer fails (with nothing queued) on an empty string or an empty ticket:
  // print a private copy in which those are replaced
  auto empty = [](const char* v) { return v != nullptr && v[0] == '\0'; };
  bool emptyTicket = s->tlsext_tick != nullptr && s->tlsext_ticklen == 0;
  SslSessionPointer copy;
  SSL_SESSION* target = s;
  if (empty(s->psk_identity) || empty(s->psk_identity_hint) || empty(s->srp_username) || emptyTicket) {
    copy.reset(ssl_session_dup(s, s->tlsext_tick != nullptr && s->tlsext_ticklen > 0 ? 1 : 0));
    if (!copy) {
      openssl_error::Throw(env, "SSL_SESSION_print (copy)");
      return env.Undefined();
    }
    char** fields[] = {&copy->psk_identity, &copy->psk_identity_hint, &copy->srp_username};
    for (char** f : fields) {
      if (empty(*f)) {
        OPENSSL_free(*f);
        *f = BUF_strdup("\"\"");
        if (*f == nullptr) {
          openssl_error::Throw(env, "SSL_SESSION_print (copy)");
          return env.Undefined();
        }
      }
    }
    target = copy.get();
  }
  BioPointer bio = NewMemoryBio();
  if (!bio || SSL_SESSION_print(bio.get(), target) != 1) {
    openssl_error::Throw(env, "SSL_SESSION_print");
    return env.Undefined();
  }
  return Napi::String::New(env, MemoryBioText(bio.get()));
}

}  // namespace session_codec
