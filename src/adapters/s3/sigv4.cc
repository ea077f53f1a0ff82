#include "adapters/s3/sigv4.h"

#include <algorithm>
#include <ctime>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace stereospot::s3 {
namespace {

constexpr char kHexLower[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

std::string Hex(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHexLower[data[i] >> 4]);
    out.push_back(kHexLower[data[i] & 0xF]);
  }
  return out;
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // EVP_Digest is the one-shot form: it owns its context internally.
  EVP_Digest(data.data(), data.size(), out, &size, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out), size);
}

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  std::string raw = Digest(EVP_sha256(), data);
  return Hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string Md5Base64(std::string_view data) {
  std::string raw = Digest(EVP_md5(), data);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string UriEncode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size() * 3);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 0xF]);
    }
  }
  return out;
}

std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [name, value] : params) {
    name = UriEncode(name, false);
    value = UriEncode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += name + "=" + value;
  }
  return out;
}

std::pair<std::string, std::string> AmzDate(std::int64_t unix_seconds) {
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[16];
  char datetime[32];
  std::strftime(date, sizeof(date), "%Y%m%d", &tm);
  std::strftime(datetime, sizeof(datetime), "%Y%m%dT%H%M%SZ", &tm);
  return {date, datetime};
}

std::string PresignUrl(const PresignRequest& r) {
  auto [date, datetime] = AmzDate(r.now_unix_seconds);
  std::string scope = date + "/" + r.region + "/s3/aws4_request";
  std::vector<std::pair<std::string, std::string>> params = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
      {"X-Amz-Credential", r.access_key_id + "/" + scope},
      {"X-Amz-Date", datetime},
      {"X-Amz-Expires", std::to_string(r.expires_seconds)},
      {"X-Amz-SignedHeaders", "host"},
  };
  if (!r.session_token.empty()) params.emplace_back("X-Amz-Security-Token", r.session_token);
  for (const auto& extra : r.extra_query) params.push_back(extra);
  std::string query = CanonicalQuery(std::move(params));
  std::string canonical_request = r.method + "\n" + r.canonical_path + "\n" + query +
                                  "\nhost:" + r.host + "\n\nhost\nUNSIGNED-PAYLOAD";
  std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + datetime + "\n" + scope + "\n" + Sha256Hex(canonical_request);
  std::string key = HmacSha256("AWS4" + r.secret_access_key, date);
  key = HmacSha256(key, r.region);
  key = HmacSha256(key, "s3");
  key = HmacSha256(key, "aws4_request");
  std::string raw = HmacSha256(key, string_to_sign);
  std::string signature = Hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  return r.scheme + "://" + r.host + r.canonical_path + "?" + query +
         "&X-Amz-Signature=" + signature;
}

}  // namespace stereospot::s3
