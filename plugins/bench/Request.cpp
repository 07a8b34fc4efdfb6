#include "Request.hpp"

#include <algorithm>
#include <strings.h>

namespace keel::bench {

namespace {

bool hasHeader(const std::vector<Header>& headers, const char* name) {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const Header& h) { return strcasecmp(h.first.c_str(), name) == 0; });
}

} // namespace

void RequestSpec::build() {
    head = method == "HEAD";
    wire.clear();
    wire.reserve(64 + body.size());
    wire += method;
    wire += ' ';
    wire += url.target;
    wire += " HTTP/1.1\r\n";
    if (!hasHeader(headers, "host")) wire += "Host: " + url.authority() + "\r\n";
    if (!hasHeader(headers, "user-agent")) wire += "User-Agent: keel-bench\r\n";
    for (const auto& [name, value] : headers) wire += name + ": " + value + "\r\n";
    const bool bodyMethod = method == "POST" || method == "PUT" || method == "PATCH";
    if ((!body.empty() || bodyMethod) && !hasHeader(headers, "content-length") && !hasHeader(headers, "transfer-encoding"))
        wire += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    wire += "\r\n";
    wire += body;
}

bool RequestSpec::expects(int status) const {
    return expectStatus.empty() || std::find(expectStatus.begin(), expectStatus.end(), status) != expectStatus.end();
}

} // namespace keel::bench
