// SlotTable<Handle>: this thread's live handle objects of one class, by small number.
//
// Fast path for hot calls (bench B1): every handle gets a "slot" when it is constructed.
// A slot names a live handle object of this thread, so native code finds the handle
// with a bounds-checked table read instead of napi_check_object_type_tag + napi_unwrap
// (two private-property lookups, ~55 ns each). A slot is released only when its handle
// object is destroyed (garbage-collected or environment teardown), then reused.
// One table per class per thread (thread_local): one Node environment per thread.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

#include "openssl_error.h"

template <typename Handle>
class SlotTable {
 public:
  uint32_t Take(Handle* h) {
    if (!free_.empty()) {
      uint32_t n = free_.back();
      free_.pop_back();
      slots_[n] = h;
      return n;
    }
    slots_.push_back(h);
    return static_cast<uint32_t>(slots_.size() - 1);
  }

  // Gives `slot` back if it still names `h` (a handle constructed without a slot has
  // UINT32_MAX).
  void Release(uint32_t slot, const Handle* h) {
    if (slot < slots_.size() && slots_[slot] == h) {
      slots_[slot] = nullptr;
      free_.push_back(slot);
    }
  }

  // The handle at `slot`, or nullptr; no checks beyond the table.
  Handle* At(uint32_t slot) const { return slot < slots_.size() ? slots_[slot] : nullptr; }

  // The handle at `slot` if it belongs to `env`; else nullptr after throwing TypeError
  // `wrongSlot` ("expected an SslSession"). Whether it is freed is the caller's check.
  Handle* Find(Napi::Env env, uint32_t slot, const char* wrongSlot) const {
    Handle* h = At(slot);
    if (h != nullptr && h->Env() == env) return h;
    openssl_error::ThrowType(env, wrongSlot);
    return nullptr;
  }

 private:
  std::vector<Handle*> slots_;
  std::vector<uint32_t> free_;
};
