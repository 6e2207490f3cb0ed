// SslContextHandle, part 4: session-ticket keys (see ticket_keys.h and ssl_context_handle.h).
//
// setTicketKeys(keys: Buffer) — a multiple of 48 bytes: the first is the current key, the
//   rest previous keys that still decrypt. The first call installs the ticket key
//   callback; from then on OpenSSL's own keys (made by SSL_CTX_new) are unused. An empty
//   buffer wipes the keys held (OPENSSL_cleanse) and installs nothing.
// getTicketKeys() — the keys as one Buffer in the same layout; before any setTicketKeys,
//   OpenSSL's own 48 bytes (SSL_CTX_get_tlsext_ticket_keys: name, HMAC secret, AES key).
// ticketKeyStats() — { issued, current, previous, unknownKey } (TicketKeys::Counters).
#include <openssl/crypto.h>

#include <cstring>

#include "arguments.h"
#include "openssl_error.h"
#include "ssl_context_handle.h"
#include "ticket_keys.h"

void SslContextHandle::DefineTicketMethods(std::vector<PropertyDescriptor>* properties) {
  properties->insert(properties->end(), {
                                            InstanceMethod<&SslContextHandle::JS_setTicketKeys>("setTicketKeys"),
                                            InstanceMethod<&SslContextHandle::JS_getTicketKeys>("getTicketKeys"),
                                            InstanceMethod<&SslContextHandle::JS_ticketKeyStats>("ticketKeyStats"),
                                        });
}

// OpenSSL calls this with the SSL whose initial_ctx installed it (1.0.2 reads
// s->initial_ctx->tlsext_ticket_key_cb). No JS; a context being torn down answers "no key".
int SslContextHandle::OnTicketKey(SSL* s, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                                  HMAC_CTX* hmac, int enc) {
  SslContextHandle* self = s->initial_ctx == nullptr ? nullptr : From(s->initial_ctx);
  if (self == nullptr) return enc ? -1 : 0;
  if (enc) return self->ticketKeys_.Answer(name, iv, cipher, hmac, enc);
  // a ticket lib found revoked (refuseTicket() of either connection path): "unknown key",
  // a full handshake
  if (ticket_note::Refused(s)) {
    ticket_note::NoteDecrypted(s, ticket_note::Decrypted::kRefused);
    return self->ticketKeys_.Refuse();
  }
  int r = self->ticketKeys_.Answer(name, iv, cipher, hmac, enc);
  ticket_note::NoteDecrypted(s, r == 1 ? ticket_note::Decrypted::kCurrent : r == 2 ? ticket_note::Decrypted::kPrevious : r == 0 ? ticket_note::Decrypted::kUnknown : ticket_note::Decrypted::kNone);
  return r;
}

Napi::Value SslContextHandle::JS_setTicketKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENT(info, 0, kBuffer, "keys");
  Napi::Buffer<uint8_t> b = info[0].As<Napi::Buffer<uint8_t>>();
  size_t n = b.Length() / TicketKeys::kKeyLength;
  if (b.Length() == 0) {
    // no keys: wiped; the callback (if installed) answers "no ticket" to decryption and
    // fails encryption, so lib sets SSL_OP_NO_TICKET first
    ticketKeys_.Wipe();
    return env.Undefined();
  }
  if (b.Length() % TicketKeys::kKeyLength != 0) {
    openssl_error::ThrowRange(env, "keys must be a multiple of 48 bytes");
    return env.Undefined();
  }
  std::vector<TicketKeys::Key> keys(n);
  for (size_t i = 0; i < n; i++) std::memcpy(keys[i].data(), b.Data() + i * TicketKeys::kKeyLength, TicketKeys::kKeyLength);
  ticketKeys_.Set(std::move(keys));  // moved: no copy of the keys is left behind
  SSL_CTX_set_tlsext_ticket_key_cb(ctx_, OnTicketKey);
  return env.Undefined();
}

Napi::Value SslContextHandle::JS_getTicketKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  if (ticketKeys_.empty()) {
    unsigned char own[TicketKeys::kKeyLength];
    ErrorQueueGuard guard;
    if (SSL_CTX_get_tlsext_ticket_keys(ctx_, own, sizeof own) != 1) {
      openssl_error::Throw(env, "SSL_CTX_get_tlsext_ticket_keys");
      return env.Undefined();
    }
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::Copy(env, own, sizeof own);
    OPENSSL_cleanse(own, sizeof own);
    return out;
  }
  const auto& keys = ticketKeys_.keys();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, keys.size() * TicketKeys::kKeyLength);
  for (size_t i = 0; i < keys.size(); i++) std::memcpy(out.Data() + i * TicketKeys::kKeyLength, keys[i].data(), TicketKeys::kKeyLength);
  return out;
}

Napi::Value SslContextHandle::JS_ticketKeyStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  const TicketKeys::Counters& c = ticketKeys_.counters();
  Napi::Object o = Napi::Object::New(env);
  o.Set("issued", Napi::Number::New(env, c.issued));
  o.Set("current", Napi::Number::New(env, c.current));
  o.Set("previous", Napi::Number::New(env, c.previous));
  o.Set("revoked", Napi::Number::New(env, c.refused));
  o.Set("unknownKey", Napi::Number::New(env, c.unknownKey));
  return o;
}
