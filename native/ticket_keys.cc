// TicketKeys: see ticket_keys.h.
#include "ticket_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <new>

namespace {
constexpr size_t kHmacOffset = 16;
constexpr size_t kAesOffset = 32;
constexpr int kSecretLength = 16;
}  // namespace

int TicketKeys::Answer(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, int enc) {
  if (keys_.empty()) return enc ? -1 : 0;
  if (enc) {
    const Key& k = keys_.front();
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    std::memcpy(name, k.data(), kNameLength);
    if (EVP_EncryptInit_ex(cipher, EVP_aes_128_cbc(), nullptr, k.data() + kAesOffset, iv) != 1) return -1;
    if (HMAC_Init_ex(hmac, k.data() + kHmacOffset, kSecretLength, EVP_sha256(), nullptr) != 1) return -1;
    counters_.issued += 1;
    return 1;
  }
  for (size_t i = 0; i < keys_.size(); i++) {
    const Key& k = keys_[i];
    if (std::memcmp(name, k.data(), kNameLength) != 0) continue;
    if (HMAC_Init_ex(hmac, k.data() + kHmacOffset, kSecretLength, EVP_sha256(), nullptr) != 1) return -1;
    if (EVP_DecryptInit_ex(cipher, EVP_aes_128_cbc(), nullptr, k.data() + kAesOffset, iv) != 1) return -1;
    if (i == 0) {
      counters_.current += 1;
      return 1;
    }
    counters_.previous += 1;
    return 2;
  }
  counters_.unknownKey += 1;
  return 0;
}

void TicketKeys::Wipe() {
  for (Key& k : keys_) OPENSSL_cleanse(k.data(), k.size());
  keys_.clear();
}

namespace ticket_note {
namespace {
struct Note {
  bool refused = false;
  Decrypted decrypted = Decrypted::kNone;
  bool issued = false;
  unsigned char issuedId[kIdLength] = {0};
};

void FreeNote(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<Note*>(ptr); }

int Index() {
  // made once, by the first thread that needs it (after the library's initialisation)
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeNote);
  return index;
}

const Note* Find(const SSL* ssl) { return static_cast<const Note*>(SSL_get_ex_data(ssl, Index())); }

Note* Make(SSL* ssl) {
  Note* n = static_cast<Note*>(SSL_get_ex_data(ssl, Index()));
  if (n != nullptr) return n;
  n = new (std::nothrow) Note();
  if (n == nullptr) return nullptr;
  if (SSL_set_ex_data(ssl, Index(), n) != 1) {
    delete n;
    return nullptr;
  }
  return n;
}

constexpr int kHandshakeRecord = 22;
constexpr unsigned char kNewSessionTicket = 4;

// a NewSessionTicket written by this SSL: 4-byte header, lifetime hint (4), ticket length (2)
void OnMessage(int writing, int, int type, const void* buf, size_t len, SSL* ssl, void*) {
  const unsigned char* p = static_cast<const unsigned char*>(buf);
  if (!writing || type != kHandshakeRecord || len < 10 || p[0] != kNewSessionTicket) return;
  size_t ticketLength = (static_cast<size_t>(p[8]) << 8) | p[9];
  if (ticketLength == 0 || 10 + ticketLength > len) return;
  Note* n = Make(ssl);
  if (n == nullptr) return;
  SHA256(p + 10, ticketLength, n->issuedId);
  n->issued = true;
}
}  // namespace

bool Refuse(SSL* ssl) {
  Note* n = Make(ssl);
  if (n == nullptr) return false;
  n->refused = true;
  return true;
}

bool Refused(const SSL* ssl) {
  const Note* n = Find(ssl);
  return n != nullptr && n->refused;
}

void NoteDecrypted(SSL* ssl, Decrypted what) {
  Note* n = Make(ssl);
  if (n != nullptr) n->decrypted = what;
}

Decrypted WhatDecrypted(const SSL* ssl) {
  const Note* n = Find(ssl);
  return n == nullptr ? Decrypted::kNone : n->decrypted;
}

void WatchIssued(SSL* ssl) { SSL_set_msg_callback(ssl, OnMessage); }

const unsigned char* IssuedId(const SSL* ssl) {
  const Note* n = Find(ssl);
  return n != nullptr && n->issued ? n->issuedId : nullptr;
}
}  // namespace ticket_note
