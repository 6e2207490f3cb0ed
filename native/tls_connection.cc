#include "tls_connection.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>

#include "arguments.h"
#include "openssl_error.h"
#include "offered_session.h"
#include "openssl_pointers.h"
#include "openssl_runtime.h"
#include "ssl_context_handle.h"
#include "ssl_queries.h"
#include "ssl_session_handle.h"
#include "error_codes.h"

namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kReadLimit = 1024 * 1024;  // plaintext per cycle() before yielding
constexpr size_t kKeptReadBuffer = 256 * 1024;  // larger read buffers are released after use

Napi::Value Drain(Napi::Env env, BIO* bio) {
  size_t n = BIO_ctrl_pending(bio);
  if (n == 0) return env.Undefined();
  Napi::Buffer<char> out = Napi::Buffer<char>::New(env, n);
  int got = BIO_read(bio, out.Data(), static_cast<int>(n));
  if (got <= 0) return env.Undefined();
  return got == static_cast<int>(n) ? out : Napi::Buffer<char>::Copy(env, out.Data(), static_cast<size_t>(got));
}

Napi::Array NameEntries(Napi::Env env, X509_NAME* name) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t k = 0;
  for (int i = 0; i < X509_NAME_entry_count(name); i++) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    const char* key = nid != NID_undef ? OBJ_nid2sn(nid) : "UNDEF";
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (len < 0) continue;
    OpenSSLMemory<unsigned char> text(utf8);
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, key));
    pair.Set(1u, Napi::String::New(env, reinterpret_cast<char*>(text.get()), static_cast<size_t>(len)));
    out.Set(k++, pair);
  }
  return out;
}

std::string TimeText(ASN1_TIME* t) {
  BioPointer bio = NewMemoryBio();
  if (!bio) return "";
  ASN1_TIME_print(bio.get(), t);
  return MemoryBioText(bio.get());
}

std::string Fingerprint(X509* cert, const EVP_MD* md) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, md, buf, &n) != 1) return "";
  static const char hex[] = "0123456789ABCDEF";
  std::string s;
  for (unsigned int i = 0; i < n; i++) {
    if (i) s += ':';
    s += hex[buf[i] >> 4];
    s += hex[buf[i] & 15];
  }
  return s;
}

}  // namespace

Napi::Function TlsConnection::Define(Napi::Env env) {
  std::vector<PropertyDescriptor> properties = {
                         InstanceMethod<&TlsConnection::JS_cycle>("cycle"),
                         InstanceMethod<&TlsConnection::JS_write>("write"),
                         InstanceMethod<&TlsConnection::JS_shutdown>("shutdown"),
                         InstanceMethod<&TlsConnection::JS_info>("info"),
                         InstanceMethod<&TlsConnection::JS_free>("free"),
  };
  DefineFeatureMethods(&properties);
  return DefineClass(env, "TlsConnection", properties);
}

// new TlsConnection(contextHandle, isServer, { serverName?, session?, verifyPeer?, verifyHost? })
TlsConnection::TlsConnection(const Napi::CallbackInfo& info) : ObjectWrap(info) {
  Napi::Env env = info.Env();
  SslContextHandle* ctx = SslContextHandle::FromValue(env, info[0]);
  if (ctx == nullptr) return;
  server_ = info.Length() > 1 && info[1].ToBoolean().Value();
  Napi::Object opts = arguments::Given(info, 2, arguments::Kind::kObject) ? info[2].As<Napi::Object>() : Napi::Object::New(env);
  ErrorQueueGuard guard;
  ssl_.reset(SSL_new(ctx->ctx()));
  BioPointer in = NewMemoryBio();
  BioPointer out = NewMemoryBio();
  if (!ssl_ || !in || !out) {
    openssl_error::Throw(env, "SSL_new");
    return;
  }
  // an empty memory BIO reports "retry" rather than EOF
  BIO_set_mem_eof_return(in.get(), -1);
  BIO_set_mem_eof_return(out.get(), -1);
  encIn_ = in.release();  // both owned by ssl_.get() from here on
  encOut_ = out.release();
  SSL_set_bio(ssl_.get(), encIn_, encOut_);
  SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS);
  contextRef_ = Napi::Persistent(info[0].As<Napi::Object>());
  SSL_set_ex_data(ssl_.get(), openssl_runtime::ConnectionIndex(), this);
  SSL_set_info_callback(ssl_.get(), OnInfo);
  if (!ConfigureFeatures(env, opts)) return;
  if (server_) {
    SSL_set_accept_state(ssl_.get());
    return;
  }
  SSL_set_connect_state(ssl_.get());
  Napi::Value name = opts.Get("serverName");
  if (name.IsString()) {
    std::string n = name.As<Napi::String>().Utf8Value();
    if (SSL_set_tlsext_host_name(ssl_.get(), n.c_str()) != 1) {
      openssl_error::Throw(env, "SSL_set_tlsext_host_name");
      return;
    }
  }
  Napi::Value session = opts.Get("session");
  if (!session.IsUndefined() && !session.IsNull()) {
    SslSessionHandle* s = SslSessionHandle::FromValue(env, session);
    if (s == nullptr) return;
    if (offered_session::Offer(ssl_.get(), s->session()) != 1) {
      openssl_error::Throw(env, "SSL_set_session");
      return;
    }
  }
  bool verify = opts.Get("verifyPeer").ToBoolean().Value();
  // without verifyPeer the chain is still checked, to the end (node:tls's rule: the last
  // error found is the one reported), and lib decides from SSL_get_verify_result
  SSL_set_verify(ssl_.get(), verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, verify ? nullptr : ssl_queries::AcceptAnyCertificate);
  Napi::Value host = opts.Get("verifyHost");
  if (host.IsString()) {
    std::string h = host.As<Napi::String>().Utf8Value();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.get());
    // an IP literal is checked against IP SANs, anything else as a DNS name
    if (X509_VERIFY_PARAM_set1_ip_asc(param, h.c_str()) != 1) {
      ERR_clear_error();
      X509_VERIFY_PARAM_set1_host(param, h.c_str(), 0);
    }
  }
}

// The members release themselves (ssl_ SSL_frees with both BIOs, the references go); the
// SSL goes first, explicitly, while the references still keep the context handles alive,
// and with its back pointer detached: SSL_free's callbacks then find no connection.
TlsConnection::~TlsConnection() {
  DetachSsl();
  ssl_.reset();
}

void TlsConnection::DetachSsl() {
  if (ssl_) SSL_set_ex_data(ssl_.get(), openssl_runtime::ConnectionIndex(), nullptr);
}

void TlsConnection::Release() {
  DetachSsl();
  ssl_.reset();  // frees both BIOs
  contextRef_.Reset();
  sniContextRef_.Reset();
  sniContext_ = nullptr;
}

bool TlsConnection::Live(Napi::Env env) {
  if (busy_) {
    openssl_error::ThrowCoded(env, error_codes::kTlsReentrant, "TlsConnection called from inside its own OpenSSL call");
    return false;
  }
  if (ssl_) return true;
  openssl_error::ThrowCoded(env, error_codes::kSslFreed, "the TLS connection has been freed");
  return false;
}

Napi::Value TlsConnection::Result(Napi::Env env, uint32_t flags, const char* clear, size_t clearLength, Napi::Value error) {
  // { flags, out: ciphertext for the socket, clear: plaintext read, error }
  Napi::Object out = Napi::Object::New(env);
  out.Set("flags", Napi::Number::New(env, flags));
  out.Set("out", Drain(env, encOut_));
  out.Set("clear", clearLength > 0 ? Napi::Value(Napi::Buffer<char>::Copy(env, clear, clearLength)) : env.Undefined());
  out.Set("error", error);
  return out;
}

Napi::Value TlsConnection::Fail(Napi::Env env, uint32_t flags, const char* what) {
  Napi::Value e = openssl_error::Make(env, what, error_codes::kTlsFailed);
  if (env.IsExceptionPending()) env.GetAndClearPendingException();
  return Result(env, flags | kFailed, nullptr, 0, e);
}

// cycle(ciphertext | undefined): feed bytes from the peer, advance the handshake, read
// whatever plaintext is ready.
Napi::Value TlsConnection::JS_cycle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  if (arguments::Given(info, 0, arguments::Kind::kBuffer)) {
    Napi::Buffer<char> in = info[0].As<Napi::Buffer<char>>();
    if (in.Length() > 0 && BIO_write(encIn_, in.Data(), static_cast<int>(in.Length())) != static_cast<int>(in.Length())) {
      return Fail(env, 0, "BIO_write");
    }
  }
  uint32_t flags = 0;
  size_t used = 0;
  Pumped pumped;
  {
    ReentryGuard busy(&busy_);  // OpenSSL may call into JS (the get callback)
    pumped = Pump(&flags, &used);
  }
  switch (pumped) {
    case Pumped::kWantsMoreInput:
      return Result(env, flags | kWantsMoreInput, nullptr, 0, env.Undefined());
    case Pumped::kHandshakeFailed:
      return Fail(env, flags, "TLS handshake");
    case Pumped::kReadFailed:
      return Fail(env, flags, "SSL_read");
    case Pumped::kRenegotiation: {
      // a renegotiation began inside SSL_read: nothing of it goes out (the flight OpenSSL
      // wrote is dropped), the connection fails; the plaintext read before it (from the
      // peer the first handshake verified) is still handed over
      (void)BIO_reset(encOut_);
      ERR_clear_error();
      Napi::Value e = openssl_error::MakeCoded(env, error_codes::kTlsRenegotiationDisabled,
                                               server_ ? "the client asked for a TLS renegotiation, which this server refuses"
                                                       : "the server asked for a TLS renegotiation, which this client refuses");
      return Result(env, flags | kFailed | kRenegotiation, readBuffer_.data(), used, e);
    }
    case Pumped::kRead:
      break;
  }
  Napi::Value out = Result(env, flags, readBuffer_.data(), used, env.Undefined());
  // a bulk burst may have grown it to ~1 MiB: don't keep that per idle connection
  if (readBuffer_.size() > kKeptReadBuffer) std::vector<char>(kReadChunk).swap(readBuffer_);
  return out;
}

// The OpenSSL part of cycle(): the handshake step, then SSL_read into readBuffer_ (`used`
// bytes) up to kReadLimit. Builds no JS value (the caller does, outside the busy scope).
TlsConnection::Pumped TlsConnection::Pump(uint32_t* flags, size_t* used) {
  SSL* ssl = ssl_.get();
  if (!handshakeDone_) {
    int r = SSL_do_handshake(ssl);
    if (r != 1) {
      int e = SSL_get_error(ssl, r);
      return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? Pumped::kWantsMoreInput : Pumped::kHandshakeFailed;
    }
    handshakeDone_ = true;
    *flags |= kHandshakeDone;
  }
  // plaintext goes into a buffer kept across calls (grown, never zero-filled again)
  for (;;) {
    if (*used >= kReadLimit) {
      *flags |= kMorePlaintext;
      return Pumped::kRead;
    }
    if (readBuffer_.size() < *used + kReadChunk) readBuffer_.resize(*used + kReadChunk);
    int n = SSL_read(ssl, readBuffer_.data() + *used, static_cast<int>(kReadChunk));
    if (renegotiation_) return Pumped::kRenegotiation;
    if (n > 0) {
      *used += static_cast<size_t>(n);
      continue;
    }
    int e = SSL_get_error(ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Pumped::kRead;
    if (e == SSL_ERROR_ZERO_RETURN) {
      *flags |= kPeerClosed;
      return Pumped::kRead;
    }
    return Pumped::kReadFailed;
  }
}

// write(plaintext): SSL_write all of it (memory BIOs never block), return the ciphertext.
Napi::Value TlsConnection::JS_write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENTS(info, "write(data: Buffer)", K::kBuffer);
  ErrorQueueGuard guard;
  Napi::Buffer<char> data = info[0].As<Napi::Buffer<char>>();
  bool written = true;
  {
    ReentryGuard busy(&busy_);
    size_t off = 0;
    while (off < data.Length()) {
      int n = SSL_write(ssl_.get(), data.Data() + off, static_cast<int>(data.Length() - off));
      if (n <= 0) {
        written = false;
        break;
      }
      off += static_cast<size_t>(n);
    }
  }
  if (!written) return Fail(env, 0, "SSL_write");
  return Result(env, 0, nullptr, 0, env.Undefined());
}

// shutdown(): SSL_shutdown (sends close_notify), return the ciphertext to send.
Napi::Value TlsConnection::JS_shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  if (handshakeDone_) SSL_shutdown(ssl_.get());
  return Result(env, 0, nullptr, 0, env.Undefined());
}

// info() -> { reused, protocol, cipherName, cipherVersion, verifyResult, verifyError,
//   servername }: the last four may be undefined (no cipher yet, X509_V_OK, no SNI).
Napi::Value TlsConnection::JS_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  auto text = [&](const char* s) { return s ? Napi::Value(Napi::String::New(env, s)) : env.Undefined(); };
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_.get());
  long v = SSL_get_verify_result(ssl_.get());
  Napi::Object out = Napi::Object::New(env);
  out.Set("reused", Napi::Boolean::New(env, SSL_session_reused(ssl_.get()) == 1));
  out.Set("protocol", Napi::String::New(env, SSL_get_version(ssl_.get())));
  out.Set("cipherName", text(c ? SSL_CIPHER_get_name(c) : nullptr));
  out.Set("cipherVersion", text(c ? SSL_CIPHER_get_version(c) : nullptr));
  out.Set("verifyResult", Napi::Number::New(env, static_cast<double>(v)));
  out.Set("verifyError", text(v != X509_V_OK ? X509_verify_cert_error_string(v) : nullptr));
  out.Set("servername", text(SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name)));
  return out;
}

// peerCertificate() -> { subject, issuer, valid_from, valid_to, serialNumber, fingerprint,
//   fingerprint256, raw, subjectaltname } | undefined
Napi::Object TlsConnection::CertificateObject(Napi::Env env, X509* cert) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("subject", NameEntries(env, X509_get_subject_name(cert)));
  o.Set("issuer", NameEntries(env, X509_get_issuer_name(cert)));
  o.Set("valid_from", TimeText(X509_get_notBefore(cert)));
  o.Set("valid_to", TimeText(X509_get_notAfter(cert)));
  BignumPointer bn(ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr));
  if (bn) {
    OpenSSLMemory<char> hex(BN_bn2hex(bn.get()));
    if (hex) o.Set("serialNumber", hex.get());
  }
  o.Set("fingerprint", Fingerprint(cert, EVP_sha1()));
  o.Set("fingerprint256", Fingerprint(cert, EVP_sha256()));
  int len = i2d_X509(cert, nullptr);
  if (len > 0) {
    Napi::Buffer<unsigned char> raw = Napi::Buffer<unsigned char>::New(env, static_cast<size_t>(len));
    unsigned char* p = raw.Data();
    i2d_X509(cert, &p);
    o.Set("raw", raw);
  }
  GeneralNamesPointer ownedNames(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (GENERAL_NAMES* names = ownedNames.get()) {
    std::string alt;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
      GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
      std::string item;
      if (g->type == GEN_DNS) {
        item = "DNS:" + std::string(reinterpret_cast<char*>(ASN1_STRING_data(g->d.dNSName)), ASN1_STRING_length(g->d.dNSName));
      } else if (g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) == 4) {
        const unsigned char* a = ASN1_STRING_data(g->d.iPAddress);
        item = "IP Address:" + std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
               std::to_string(a[3]);
      }
      if (!item.empty()) alt += (alt.empty() ? "" : ", ") + item;
    }
    if (!alt.empty()) o.Set("subjectaltname", alt);
  }
  return o;
}

// session(): the connection's SSL_SESSION, only between handshakes. While a handshake runs
// OpenSSL writes into s->session (id, master key, peer, ticket); handing it out then would
// let JS cache an object OpenSSL is still filling in (see offered_session.h).
Napi::Value TlsConnection::JS_free(const Napi::CallbackInfo& info) {
  if (busy_) {
    openssl_error::ThrowCoded(info.Env(), error_codes::kTlsReentrant, "TlsConnection freed from inside its own OpenSSL call");
    return info.Env().Undefined();
  }
  // free(keepSession): after a finished handshake, mark the connection shut down without
  // sending anything (what s_server and nginx do before SSL_free), so SSL_free's
  // ssl_clear_bad_session keeps the session; lib decides when (a transport close, not a
  // fatal alert — OpenSSL already removed that session when the alert went out)
  if (ssl_ && handshakeDone_ && info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value()) {
    SSL_set_shutdown(ssl_.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
  Release();
  return info.Env().Undefined();
}
