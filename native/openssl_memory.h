// Where OpenSSL 1.0.2's memory comes from (openssl_memory.cc): its small blocks (the
// session cache's hash nodes among them) from one contiguous region, the rest from malloc.
#pragma once

namespace openssl_memory {
// Installs the allocator; must run before OpenSSL's first allocation (false, and plain
// malloc throughout, when it did not or the region could not be reserved).
bool Install();
}  // namespace openssl_memory
