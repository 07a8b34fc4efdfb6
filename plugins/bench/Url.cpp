#include "Url.hpp"

#include <charconv>
#include <stdexcept>

namespace keel::bench {

namespace {

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

} // namespace

Url Url::parse(std::string_view text) {
    Url url;
    std::string_view rest;
    if (startsWithNoCase(text, "http://")) {
        rest = text.substr(7);
    } else if (startsWithNoCase(text, "https://")) {
        url.tls = true;
        url.port = 443;
        rest = text.substr(8);
    } else {
        throw std::invalid_argument("'" + std::string(text) + "': expected a URL starting with http:// or https://");
    }
    const std::size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (authority.find('@') != std::string_view::npos)
        throw std::invalid_argument("'" + std::string(text) + "': user names in URLs are not supported; use -H 'Authorization: ...'");
    std::string_view portText;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) throw std::invalid_argument("'" + std::string(text) + "': unclosed '[' in the host");
        url.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') throw std::invalid_argument("'" + std::string(text) + "': expected ':PORT' after ']'");
            portText = after.substr(1);
        }
    } else {
        const std::size_t colon = authority.rfind(':');
        url.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) portText = authority.substr(colon + 1);
    }
    if (url.host.empty()) throw std::invalid_argument("'" + std::string(text) + "': the URL has no host");
    if (!portText.empty()) {
        unsigned value = 0;
        auto [p, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), value);
        if (ec != std::errc() || p != portText.data() + portText.size() || value == 0 || value > 65535)
            throw std::invalid_argument("'" + std::string(text) + "': the port must be a number from 1 to 65535");
        url.port = static_cast<std::uint16_t>(value);
    }
    // The fragment is the browser's business; servers never see it.
    const std::size_t hash = target.find('#');
    if (hash != std::string_view::npos) target = target.substr(0, hash);
    if (target.empty()) {
        url.target = "/";
    } else if (target.front() == '?') {
        url.target = "/" + std::string(target);
    } else {
        url.target = std::string(target);
    }
    return url;
}

Url Url::resolve(std::string_view ref) const {
    if (startsWithNoCase(ref, "http://") || startsWithNoCase(ref, "https://")) return parse(ref);
    Url url = *this;
    std::string base = target;
    const std::size_t query = base.find('?');
    if (query != std::string::npos) base.resize(query);
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (ref.empty()) {
        url.target = base.empty() ? "/" : base;
    } else if (ref.front() == '/' || ref.front() == '?') {
        url.target = base + std::string(ref);
        if (url.target.front() == '?') url.target.insert(url.target.begin(), '/');
    } else {
        url.target = base + "/" + std::string(ref);
    }
    return url;
}

std::string Url::authority() const {
    std::string text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80)) text += ":" + std::to_string(port);
    return text;
}

std::string Url::origin() const { return std::string(tls ? "https://" : "http://") + authority(); }

} // namespace keel::bench
