// OpenSSL's small blocks from one contiguous region (openssl_memory.h).
//
// Why: a session cache is an lhash whose chains are walked on every add, lookup and
// remove; each step reads one LHASH_NODE (24 bytes). In a fresh C process glibc hands the
// nodes out in allocation order, a few hundred bytes apart. In a Node process the heap is
// already cut into holes by V8 and by every handle object's own small allocations (the
// C++ object, its napi reference and finalizer, freed again when the object is collected),
// so glibc serves the nodes from holes spread over the whole heap: the 1024 nodes of one
// addSessions batch landed on ~440 different 4 KiB pages, and walking the chains was a
// TLB and cache miss per step (bench B1; bench/NOTES.md).
//
// Blocks of up to kBlock bytes come from one reserved region instead, handed out in
// address order and reused last-freed first, so nodes allocated together sit together.
// Larger requests, and small ones once the region is used up or could not be reserved,
// go to malloc as before. The region is never given back (like glibc's small bins, which
// seldom return memory either); its pages are only committed when first touched.
#include "openssl_memory.h"

#include <openssl/crypto.h>
#include <openssl/lhash.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <sched.h>

namespace {
// The hash node is the block this exists for; a stride of 32 keeps malloc's 16-byte alignment.
constexpr size_t kBlock = sizeof(LHASH_NODE);
constexpr size_t kStride = 32;
static_assert(kBlock <= kStride, "a block fits its stride");
constexpr size_t kRegion = size_t{256} << 20;  // 8 Mi blocks; reserved, committed on touch

struct FreeBlock {
  FreeBlock* next;
};

// base..base+kRegion is the region; [base, top) has been handed out at least once.
char* base = nullptr;
char* top = nullptr;
FreeBlock* freeList = nullptr;

// OpenSSL allocates from any thread that uses it (worker threads). The critical sections
// are a few instructions, so a spin lock (one atomic exchange to take, a plain store to
// give back, no call) instead of a pthread mutex (B1 at 1k: ~11 ns less per add+remove
// pair); a waiter that keeps finding it taken yields its CPU to the holder.
std::atomic<bool> taken{false};

class Held {
 public:
  Held() {
    for (int spins = 0; taken.exchange(true, std::memory_order_acquire); spins++) {
      if (spins >= 64) sched_yield();
    }
  }
  ~Held() { taken.store(false, std::memory_order_release); }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
};

bool Owns(const void* p) {
  return base != nullptr && static_cast<const char*>(p) >= base && static_cast<const char*>(p) < base + kRegion;
}

void* Allocate(size_t n, const char*, int) {
  if (n <= kBlock && base != nullptr) {
    Held held;
    if (freeList != nullptr) {
      FreeBlock* b = freeList;
      freeList = b->next;
      return b;
    }
    if (top + kStride <= base + kRegion) {
      void* b = top;
      top += kStride;
      return b;
    }
  }
  return std::malloc(n);
}

void Release(void* p) {
  if (!Owns(p)) {
    std::free(p);
    return;
  }
  FreeBlock* b = static_cast<FreeBlock*>(p);
  Held held;
  b->next = freeList;
  freeList = b;
}

void* Reallocate(void* p, size_t n, const char* file, int line) {
  if (p == nullptr) return Allocate(n, file, line);
  if (!Owns(p)) return std::realloc(p, n);
  if (n <= kBlock) return p;
  void* q = std::malloc(n);
  if (q == nullptr) return nullptr;  // p stays valid, as realloc leaves it
  std::memcpy(q, p, kBlock);         // the old size is at most kBlock; the stride is readable
  Release(p);
  return q;
}
}  // namespace

namespace openssl_memory {
bool Install() {
  void* region = mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (region == MAP_FAILED) return false;  // e.g. a low address-space limit: plain malloc
  // refused once OpenSSL has allocated anything; until `base` is set below, every request
  // goes to malloc (and Release frees what it does not own), so the order is safe
  if (CRYPTO_set_mem_ex_functions(Allocate, Reallocate, Release) == 0) {
    munmap(region, kRegion);
    return false;
  }
  base = static_cast<char*>(region);
  top = base;
  return true;
}
}  // namespace openssl_memory
