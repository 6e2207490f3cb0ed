// Argument checks shared by every JS-facing method (the models are better-sqlite3's
// REQUIRE_ARGUMENT_* and sodium-native's SN_ARGV_*): one place decides what "argument i
// is a Buffer / number / string / function / object" means and what TypeError or
// RangeError a wrong argument throws. The errors come from lib's realm when setup() has
// injected its classes (openssl_error::ThrowType / ThrowRange).
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace arguments {

enum class Kind {
  kBuffer,          // "a Buffer"
  kNumber,          // "a number"
  kString,          // "a string"
  kBoolean,         // "a boolean"
  kFunction,        // "a function"
  kObject,          // "an object"
  kStringOrBuffer,  // "a string or Buffer"
  kPem,             // "a PEM string or Buffer" (same test as kStringOrBuffer)
};

bool Is(Napi::Value v, Kind kind);

// Optional argument: true when argument i was passed and is of `kind`; anything else
// (absent, undefined, null, another type) counts as "not given". Never throws.
inline bool Given(const Napi::CallbackInfo& info, size_t i, Kind kind) { return info.Length() > i && Is(info[i], kind); }

// Argument i must be of `kind`: otherwise throws TypeError "<name> must be <a kind>"
// and returns false.
bool Require(const Napi::CallbackInfo& info, size_t i, Kind kind, const char* name);

// Arguments 0, 1, ... must be of these kinds: otherwise throws TypeError `usage`
// (a signature such as "get(id: Buffer, version: number)") and returns false.
bool RequireAll(const Napi::CallbackInfo& info, std::initializer_list<Kind> kinds, const char* usage);

// `length` bytes must lie in [min, max]: otherwise throws RangeError
// "<name> must be <min> to <max> bytes" ("at most <max> bytes" when min is 0).
bool RequireByteLength(Napi::Env env, size_t length, size_t min, size_t max, const char* name);

// The bytes of a Buffer argument as OpenSSL wants them: an empty Buffer's Data() may be
// NULL, which some 1.0.2 setters reject, so it is replaced by a pointer to one zero byte.
const unsigned char* Bytes(const Napi::Buffer<uint8_t>& b);

// The text of a string or Buffer argument (checked by the caller).
std::string Text(Napi::Value v);

}  // namespace arguments

// The macros return undefined from the calling JS method after the TypeError; methods
// that must return something else call the functions above.
#define REQUIRE_ARGUMENT(info, i, kind, name)                                                     \
  do {                                                                                            \
    if (!::arguments::Require((info), (i), ::arguments::Kind::kind, (name))) return (info).Env().Undefined(); \
  } while (0)

#define REQUIRE_ARGUMENTS(info, usage, ...)                                                        \
  do {                                                                                             \
    using K = ::arguments::Kind;                                                                   \
    if (!::arguments::RequireAll((info), {__VA_ARGS__}, (usage))) return (info).Env().Undefined(); \
  } while (0)

#define REQUIRE_BYTE_LENGTH(env, length, min, max, name)                                                 \
  do {                                                                                                   \
    if (!::arguments::RequireByteLength((env), (length), (min), (max), (name))) return (env).Undefined(); \
  } while (0)
