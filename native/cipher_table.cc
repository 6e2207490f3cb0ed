#include "cipher_table.h"

#include <cstring>
#include <mutex>

namespace {
std::once_flag once;
STACK_OF(SSL_CIPHER)* all = nullptr;  // owned by `holder`, kept for the process lifetime
SSL_CTX* holder = nullptr;

void Load() {
  holder = SSL_CTX_new(SSLv23_method());
  if (holder == nullptr) return;
  if (SSL_CTX_set_cipher_list(holder, "ALL:COMPLEMENTOFALL") == 1) all = holder->cipher_list;  // 1.0.2 has no SSL_CTX_get_ciphers
}
}  // namespace

namespace cipher_table {
const SSL_CIPHER* Find(const char* name) {
  std::call_once(once, Load);
  if (all == nullptr) return nullptr;
  for (int i = 0; i < sk_SSL_CIPHER_num(all); i++) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(all, i);
    if (std::strcmp(SSL_CIPHER_get_name(c), name) == 0) return c;
  }
  return nullptr;
}

const SSL_CIPHER* FindById(unsigned long cipherId) {
  if ((cipherId & 0xff000000UL) != 0x03000000UL) return nullptr;
  const unsigned char wire[2] = {static_cast<unsigned char>((cipherId >> 8) & 0xff), static_cast<unsigned char>(cipherId & 0xff)};
  return TLSv1_2_method()->get_cipher_by_char(wire);  // ssl3_get_cipher_by_char: the SSLv3/TLS table
}
}  // namespace cipher_table
