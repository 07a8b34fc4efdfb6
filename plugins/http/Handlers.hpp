#pragma once

// The http plugin's request handlers: `respond` (a fixed status, headers and body: nginx's
// `return`) and `redirect`. Each use's config is checked and turned into ready-made state at
// site load, so a request costs a status, a few headers and one end().

#include <keel/sdk.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel::http {

/// `respond`: {"status": 200, "headers": {"Name": "value"}, "body": "...", "content_type": "..."}
struct RespondState {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string contentType;

    /// Throws std::invalid_argument with a message naming the key.
    static RespondState parse(std::string_view configJson);
};

/// `redirect`: {"to": "https://example.com{path}{query}", "status": 301|302|303|307|308}
/// `{path}` is the request's path as sent (still percent-encoded) and `{query}` its query
/// with the leading '?', or nothing.
struct RedirectState {
    int status = 302;
    std::string to;
    bool templated = false;

    static RedirectState parse(std::string_view configJson);
    /// The Location for a request target (origin or absolute form).
    std::string location(std::string_view target) const;
};

std::vector<keel::HandlerRegistration> registerHandlers(const keel::Context& ctx);

} // namespace keel::http
