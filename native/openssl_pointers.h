// RAII holders for the OpenSSL objects native code creates and frees (Node's
// BIOPointer / X509Pointer style): a std::unique_ptr whose deleter is the matching
// *_free, so every early return frees what the call allocated. Ownership handed to
// OpenSSL (SSL_set_bio, SSL_CTX_add_extra_chain_cert, EVP_PKEY_assign_RSA, ...) or to a
// handle (SslSessionHandle::Adopt) is written as release().
#pragma once
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace openssl_pointers {
template <typename T, auto Free>
struct Deleter {
  void operator()(T* p) const noexcept {
    if (p != nullptr) Free(p);
  }
};
}  // namespace openssl_pointers

using BioPointer = std::unique_ptr<BIO, openssl_pointers::Deleter<BIO, BIO_free>>;
using X509Pointer = std::unique_ptr<X509, openssl_pointers::Deleter<X509, X509_free>>;
using X509ExtensionPointer = std::unique_ptr<X509_EXTENSION, openssl_pointers::Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using GeneralNamesPointer = std::unique_ptr<GENERAL_NAMES, openssl_pointers::Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using EvpPkeyPointer = std::unique_ptr<EVP_PKEY, openssl_pointers::Deleter<EVP_PKEY, EVP_PKEY_free>>;
using RsaPointer = std::unique_ptr<RSA, openssl_pointers::Deleter<RSA, RSA_free>>;
using BignumPointer = std::unique_ptr<BIGNUM, openssl_pointers::Deleter<BIGNUM, BN_free>>;
using SslPointer = std::unique_ptr<SSL, openssl_pointers::Deleter<SSL, SSL_free>>;
using SslSessionPointer = std::unique_ptr<SSL_SESSION, openssl_pointers::Deleter<SSL_SESSION, SSL_SESSION_free>>;
// memory OpenSSL allocated for the caller (BN_bn2hex, ASN1_STRING_to_UTF8): OPENSSL_free
template <typename T>
using OpenSSLMemory = std::unique_ptr<T, openssl_pointers::Deleter<void, CRYPTO_free>>;

// A writable memory BIO (nullptr if OpenSSL could not allocate it).
inline BioPointer NewMemoryBio() { return BioPointer(BIO_new(BIO_s_mem())); }

// A read-only memory BIO over `text`, which must outlive it.
inline BioPointer ReadOnlyMemoryBio(const std::string& text) {
  return BioPointer(BIO_new_mem_buf(const_cast<char*>(text.data()), static_cast<int>(text.size())));
}

// Everything written to a memory BIO so far.
inline std::string MemoryBioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data ? data : "", n > 0 ? static_cast<size_t>(n) : 0);
}
