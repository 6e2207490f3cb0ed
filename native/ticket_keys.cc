// TicketKeys: see ticket_keys.h.
#include "ticket_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>

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
