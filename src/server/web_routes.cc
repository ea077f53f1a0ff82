// The web UI: the embedded single-page app (web_assets.h), its login, and the session endpoint
// the app asks whether it must log in.
//
// Login (only when tokens are configured): GET /login sets a random login cookie and puts the
// same value in a hidden form field (double submit); POST /login needs both to match and a
// valid token, then sets the session cookie (HttpOnly, SameSite=Strict) and redirects to the
// app. The app sends the session's CSRF token in X-CSRF-Token with every state change.
#include "core/ids.h"
#include "server/http_util.h"
#include "server/server_impl.h"
#include "server/web_assets.h"

namespace stereospot::server {
namespace {

using httplib::Request;
using httplib::Response;

constexpr char kSessionCookie[] = "stereospot_session";
constexpr char kLoginCookie[] = "stereospot_login";

// `store_origin`: the object store's origin when the page uploads to and plays from it directly
// (scheme://host[:port]), else empty.
void SecurityHeaders(Response& res, const std::string& store_origin) {
  const std::string store = store_origin.empty() ? "" : " " + store_origin;
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:" + store +
                     "; style-src 'self'; script-src 'self'; connect-src 'self'" + store +
                     "; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "same-origin");
}

const WebAsset* FindAsset(std::string_view name) {
  for (const WebAsset& asset : WebAssets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

std::string LoginPage(const std::string& login_token, bool failed) {
  std::string page =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>Log in - StereoSpot</title><link rel=\"stylesheet\" href=\"/assets/style.css\">"
      "</head><body><main class=\"login\"><h1>StereoSpot</h1>"
      "<form method=\"post\" action=\"/login\" class=\"card\">"
      "<label for=\"token\">Access token</label>"
      "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" "
      "required autofocus>"
      "<input type=\"hidden\" name=\"login_csrf\" value=\"" +
      login_token + "\">";
  if (failed) page += "<p class=\"error\" role=\"alert\">That token is not valid.</p>";
  page += "<button type=\"submit\">Log in</button></form></main></body></html>";
  return page;
}

// The scheme://host[:port] a URL starts with ("" when it has none).
std::string OriginOf(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return {};
  const auto path = url.find_first_of("/?#", scheme_end + 3);
  return url.substr(0, path);
}

}  // namespace

void HttpServer::Impl::RegisterWebRoutes() {
  // With direct transfers the page talks to the store: its origin, read off a signed URL (the
  // adapter decides path-style or virtual-hosted addressing), joins the page's CSP.
  std::string store_origin;
  if (options_.direct_transfers) {
    auto url = objects_.SignedUrl("stereospot-origin/probe", SignedUrlMethod::kGet,
                                  std::chrono::seconds(60));
    if (url.ok()) store_origin = OriginOf(*url);
  }
  auto serve_asset = [store_origin](std::string_view name, Response& res) {
    const WebAsset* asset = FindAsset(name);
    if (asset == nullptr) return SendError(res, 404, "not_found", "no such file");
    SecurityHeaders(res, store_origin);
    res.set_header("Cache-Control", "no-cache");
    res.set_content(asset->body.data(), asset->body.size(),
                    std::string(asset->content_type).c_str());
  };
  http_.Get("/", [serve_asset](const Request&, Response& res) { serve_asset("index.html", res); });
  http_.Get(R"(/assets/([A-Za-z0-9_.-]+))", [serve_asset](const Request& req, Response& res) {
    serve_asset(req.matches[1].str(), res);
  });

  http_.Get("/api/v1/session", [this](const Request& req, Response& res) {
    const bool required = !options_.auth_tokens.empty();
    auto csrf = required ? SessionFor(req) : std::nullopt;
    SendJson(res, 200,
             {{"auth_required", required},
              {"authenticated", !required || csrf.has_value()},
              {"csrf_token", csrf.value_or("")},
              {"max_upload_bytes", options_.max_upload_bytes}});
  });
  http_.Delete("/api/v1/session", [this](const Request& req, Response& res) {
    auto csrf = SessionFor(req);
    if (csrf && !ConstantTimeEquals(req.get_header_value("X-CSRF-Token"), *csrf)) {
      return SendError(res, 403, "csrf", "missing or wrong X-CSRF-Token header for this session");
    }
    EndSession(req);
    res.set_header("Set-Cookie",
                   std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    SendJson(res, 200, {{"authenticated", false}});
  });

  http_.Get("/login", [this](const Request& req, Response& res) {
    if (options_.auth_tokens.empty()) {
      res.set_redirect("/");
      return;
    }
    const std::string login_token = RandomHex(16);
    SecurityHeaders(res, {});
    res.set_header("Cache-Control", "no-store");
    res.set_header("Set-Cookie", std::string(kLoginCookie) + "=" + login_token +
                                     "; Path=/login; Max-Age=600; HttpOnly; SameSite=Strict");
    res.set_content(LoginPage(login_token, req.has_param("failed")), "text/html; charset=utf-8");
  });

  http_.Post("/login", [this](const Request& req, Response& res) {
    if (options_.auth_tokens.empty()) {
      res.set_redirect("/", 303);
      return;
    }
    auto cookie = CookieValue(req.get_header_value("Cookie"), kLoginCookie);
    const std::string form_token = req.get_param_value("login_csrf");
    if (!cookie || form_token.empty() || !ConstantTimeEquals(*cookie, form_token)) {
      return SendError(res, 403, "csrf", "the login form expired; reload /login and try again");
    }
    const std::string presented = req.get_param_value("token");
    bool match = false;
    for (const std::string& token : options_.auth_tokens) {
      match = ConstantTimeEquals(presented, token) || match;
    }
    if (!match) {
      res.set_redirect("/login?failed=1", 303);
      return;
    }
    const std::string session = NewSession();
    res.set_header("Set-Cookie",
                   std::string(kSessionCookie) + "=" + session +
                       "; Path=/; Max-Age=" + std::to_string(options_.session_ttl.count()) +
                       "; HttpOnly; SameSite=Strict");
    res.set_redirect("/", 303);
  });
}

}  // namespace stereospot::server
