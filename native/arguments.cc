#include "arguments.h"

#include "openssl_error.h"

namespace arguments {

namespace {
const char* Description(Kind kind) {
  switch (kind) {
    case Kind::kBuffer: return "a Buffer";
    case Kind::kNumber: return "a number";
    case Kind::kString: return "a string";
    case Kind::kBoolean: return "a boolean";
    case Kind::kFunction: return "a function";
    case Kind::kObject: return "an object";
    case Kind::kStringOrBuffer: return "a string or Buffer";
    case Kind::kPem: return "a PEM string or Buffer";
  }
  return "valid";
}
}  // namespace

bool Is(Napi::Value v, Kind kind) {
  switch (kind) {
    case Kind::kBuffer: return v.IsBuffer();
    case Kind::kNumber: return v.IsNumber();
    case Kind::kString: return v.IsString();
    case Kind::kBoolean: return v.IsBoolean();
    case Kind::kFunction: return v.IsFunction();
    case Kind::kObject: return v.IsObject();
    case Kind::kStringOrBuffer:
    case Kind::kPem: return v.IsString() || v.IsBuffer();
  }
  return false;
}

bool Require(const Napi::CallbackInfo& info, size_t i, Kind kind, const char* name) {
  if (Given(info, i, kind)) return true;
  std::string m = std::string(name) + " must be " + Description(kind);
  openssl_error::ThrowType(info.Env(), m.c_str());
  return false;
}

bool RequireAll(const Napi::CallbackInfo& info, std::initializer_list<Kind> kinds, const char* usage) {
  size_t i = 0;
  for (Kind kind : kinds) {
    if (!Given(info, i++, kind)) {
      openssl_error::ThrowType(info.Env(), usage);
      return false;
    }
  }
  return true;
}

bool RequireByteLength(Napi::Env env, size_t length, size_t min, size_t max, const char* name) {
  if (length >= min && length <= max) return true;
  std::string m = std::string(name) + " must be " + (min == 0 ? "at most " : std::to_string(min) + " to ") +
                  std::to_string(max) + " bytes";
  openssl_error::ThrowRange(env, m.c_str());
  return false;
}

const unsigned char* Bytes(const Napi::Buffer<uint8_t>& b) {
  static const unsigned char none = 0;
  return b.Length() ? b.Data() : &none;
}

std::string Text(Napi::Value v) {
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  Napi::Buffer<char> b = v.As<Napi::Buffer<char>>();
  return std::string(b.Data(), b.Length());
}

}  // namespace arguments
