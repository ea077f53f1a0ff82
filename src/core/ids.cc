#include "core/ids.h"

#include <array>
#include <cstdint>
#include <random>
#include <stdexcept>

#include <openssl/rand.h>

namespace stereospot {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

void FillRandom(unsigned char* out, std::size_t n) {
  // RAND_bytes draws from the OS entropy pool; it fails only when the pool is unusable, in which
  // case std::random_device (also OS-backed on Linux) is the fallback.
  if (RAND_bytes(out, static_cast<int>(n)) == 1) return;
  std::random_device rd;
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<unsigned char>(rd());
}

}  // namespace

std::string RandomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  FillRandom(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

std::string NewJobId() {
  std::array<unsigned char, 16> b{};
  FillRandom(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

bool IsValidJobId(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    bool hyphen_position = (i == 8 || i == 13 || i == 18 || i == 23);
    if (hyphen_position ? id[i] != '-' : !IsLowerHex(id[i])) return false;
  }
  if (id[14] != '4') return false;
  char variant = id[19];
  return variant == '8' || variant == '9' || variant == 'a' || variant == 'b';
}

}  // namespace stereospot
