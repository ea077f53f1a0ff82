// Identifiers: job ids (UUIDv4, canonical lower-case form) and random tokens.
//
// Job ids are the only user-visible identifiers that reach object keys and SQL, so they are
// validated at every edge with IsValidJobId before use. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace stereospot {

// A new random UUIDv4 in canonical form: 8-4-4-4-12 lower-case hex digits, version 4, RFC 4122
// variant ("3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5c").
std::string NewJobId();

// True only for the canonical form NewJobId produces (lower-case, version nibble 4, variant
// 8, 9, a or b). Upper case, braces, missing hyphens and other versions are rejected.
bool IsValidJobId(std::string_view id);

// `bytes` random bytes from the OS CSPRNG as 2*bytes lower-case hex digits (receipts, secrets).
std::string RandomHex(std::size_t bytes);

}  // namespace stereospot
