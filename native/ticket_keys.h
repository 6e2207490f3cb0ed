// TicketKeys: the session-ticket keys of one SSL_CTX and the answer to OpenSSL 1.0.2's
// ticket key callback (SSL_CTX_set_tlsext_ticket_key_cb).
//
// A key is 48 bytes in node:tls's layout: key name (16) | HMAC-SHA256 secret (16) |
// AES-128-CBC key (16). keys()[0] is the current key: it encrypts every new ticket.
// The others are previous keys: a ticket made under one of them still decrypts, and the
// callback answers 2, so OpenSSL resumes the session and issues a new ticket under the
// current key (tls_decrypt_ticket's "renew_ticket"). A ticket whose key name is unknown
// is answered 0: a full handshake and a new ticket.
//
// The callback runs inside the handshake (ssl3_send_newsession_ticket /
// tls_decrypt_ticket): it answers from the keys held here, calls no JS and only bumps
// counters that lib reads after the OpenSSL call returned.
//
// Keys live in this process's memory only: a key that leaves (replaced by Set, or the
// context freed) is overwritten with OPENSSL_cleanse.
#pragma once
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

class TicketKeys {
 public:
  static constexpr size_t kNameLength = 16;
  static constexpr size_t kKeyLength = 48;
  using Key = std::array<unsigned char, kKeyLength>;

  // Counters since the context was made.
  struct Counters {
    double issued = 0;        // tickets encrypted (under the current key)
    double current = 0;       // tickets decrypted under the current key
    double previous = 0;      // tickets decrypted under a previous key (renewed)
    double unknownKey = 0;    // tickets whose key name is not held (full handshake)
    double refused = 0;       // tickets not decrypted because lib revoked them (full handshake)
  };

  TicketKeys() = default;
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;
  ~TicketKeys() { Wipe(); }

  // Overwrites and drops every key (the context is being freed: no callback can run).
  void Wipe();

  // Replaces every key; keys[0] becomes the current one. keys must not be empty. The keys
  // replaced are overwritten (OPENSSL_cleanse) before their memory is released.
  void Set(std::vector<Key> keys) {
    Wipe();
    keys_ = std::move(keys);
  }
  const std::vector<Key>& keys() const { return keys_; }
  bool empty() const { return keys_.empty(); }
  const Counters& counters() const { return counters_; }

  // The callback's answer (enc = 1: encrypt, 0: decrypt), OpenSSL's return convention:
  // -1 error, 0 unknown key (decrypt) / no ticket, 1 ok, 2 ok and renew the ticket.
  // A ticket refused for one connection: counted, answered as an unknown key (0).
  int Refuse() {
    counters_.refused += 1;
    return 0;
  }
  int Answer(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, int enc);

 private:
  std::vector<Key> keys_;
  Counters counters_;
};

// What happened to the tickets of one SSL, for either connection path (a TlsConnection's SSL
// and a NativeListener connection's SSL alike): whether lib refused the ticket its
// ClientHello offers, what the ticket key callback answered for it, and the id (SHA-256) of
// the ticket the server sent. Kept in the SSL's ex_data, made on first use and freed with
// the SSL (SSL_free), touched only on the thread running the handshake.
namespace ticket_note {
enum class Decrypted : uint8_t { kNone = 0, kCurrent = 1, kPrevious = 2, kUnknown = 3, kRefused = 4 };
constexpr size_t kIdLength = 32;

// the ticket the ClientHello of `ssl` offers is not decrypted: the callback answers "unknown
// key" (a full handshake and a new ticket); false when no note could be made
bool Refuse(SSL* ssl);
bool Refused(const SSL* ssl);
// the ticket key callback's answer to a decryption for `ssl`
void NoteDecrypted(SSL* ssl, Decrypted what);
Decrypted WhatDecrypted(const SSL* ssl);
// a server SSL: keep SHA-256 of the ticket of each NewSessionTicket it writes (the id an
// OpenSSL client offers with that ticket, lib/tls/issued_ticket.ts); a message callback
void WatchIssued(SSL* ssl);
// that id, or nullptr when the SSL sent no ticket
const unsigned char* IssuedId(const SSL* ssl);
}  // namespace ticket_note
