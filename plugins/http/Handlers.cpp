#include "Handlers.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <stdexcept>

#include "Response.hpp"

namespace keel::http {

namespace {

Poco::JSON::Object::Ptr parseObject(std::string_view json) {
    Poco::JSON::Parser parser;
    return parser.parse(std::string(json.empty() ? std::string_view("{}") : json))
        .extract<Poco::JSON::Object::Ptr>();
}

std::string_view pathOf(std::string_view target) {
    if (!target.empty() && target.front() != '/') {
        // Absolute form: the path starts after the authority.
        const auto scheme = target.find("://");
        const auto slash = scheme == std::string_view::npos ? std::string_view::npos
                                                            : target.find('/', scheme + 3);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    return target.substr(0, target.find_first_of("?#"));
}

std::string_view queryOf(std::string_view target) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return {};
    std::string_view query = target.substr(q);
    return query.substr(0, query.find('#'));
}

} // namespace

RespondState RespondState::parse(std::string_view configJson) {
    const auto config = parseObject(configJson);
    RespondState s;
    if (config->has("status")) s.status = config->getValue<int>("status");
    if (s.status < 200 || s.status > 599)
        throw std::invalid_argument("status: expected a final status from 200 to 599, found " +
                                    std::to_string(s.status));
    if (config->has("body")) s.body = config->getValue<std::string>("body");
    if ((s.status == 204 || s.status == 304) && !s.body.empty())
        throw std::invalid_argument("body: a " + std::to_string(s.status) +
                                    " response has no body");
    if (config->has("content_type"))
        s.contentType = config->getValue<std::string>("content_type");
    else if (!s.body.empty())
        s.contentType = "text/plain; charset=utf-8";
    if (!isFieldValue(s.contentType))
        throw std::invalid_argument("content_type: control characters are not allowed");
    if (config->has("headers")) {
        const auto headers = config->getObject("headers");
        if (!headers)
            throw std::invalid_argument(
                "headers: expected an object such as {\"Cache-Control\": \"no-cache\"}");
        for (const auto& [name, value] : *headers) {
            if (!isToken(name))
                throw std::invalid_argument("headers: \"" + name + "\" is not a valid header name");
            if (!value.isString())
                throw std::invalid_argument("headers." + name + ": expected a string");
            const std::string text = value.toString();
            if (!isFieldValue(text))
                throw std::invalid_argument("headers." + name +
                                            ": control characters are not allowed");
            if (equalsIgnoreCase(name, "content-length") ||
                equalsIgnoreCase(name, "transfer-encoding") || equalsIgnoreCase(name, "connection"))
                throw std::invalid_argument("headers." + name +
                                            ": the server sets this header itself");
            if (equalsIgnoreCase(name, "content-type"))
                s.contentType = text;
            else
                s.headers.emplace_back(name, text);
        }
    }
    return s;
}

RedirectState RedirectState::parse(std::string_view configJson) {
    const auto config = parseObject(configJson);
    RedirectState s;
    if (!config->has("to"))
        throw std::invalid_argument(
            "to: missing; expected the target URL, such as \"https://example.com{path}\"");
    s.to = config->getValue<std::string>("to");
    if (s.to.empty() || !isFieldValue(s.to))
        throw std::invalid_argument("to: expected a URL without control characters");
    if (config->has("status")) s.status = config->getValue<int>("status");
    if (s.status != 301 && s.status != 302 && s.status != 303 && s.status != 307 && s.status != 308)
        throw std::invalid_argument("status: expected 301, 302, 303, 307 or 308, found " +
                                    std::to_string(s.status));
    s.templated =
        s.to.find("{path}") != std::string::npos || s.to.find("{query}") != std::string::npos;
    return s;
}

std::string RedirectState::location(std::string_view target) const {
    if (!templated) return to;
    std::string out;
    out.reserve(to.size() + target.size());
    for (std::size_t i = 0; i < to.size();) {
        if (to.compare(i, 6, "{path}") == 0) {
            out += pathOf(target);
            i += 6;
        } else if (to.compare(i, 7, "{query}") == 0) {
            out += queryOf(target);
            i += 7;
        } else {
            out += to[i++];
        }
    }
    return out;
}

std::vector<keel::HandlerRegistration> registerHandlers(const keel::Context& ctx) {
    std::vector<keel::HandlerRegistration> out;
    out.push_back(keel::handle(
        ctx, "respond", [](const keel::Use& use) { return RespondState::parse(use.configJson); },
        [](RespondState& s, keel::Request req) {
            const keel_request_api* api = req.api();
            keel_request* r = req.raw();
            api->set_status(r, s.status);
            for (const auto& [name, value] : s.headers)
                api->set_header(r, keel_str{name.data(), name.size()},
                                keel_str{value.data(), value.size()});
            if (!s.contentType.empty())
                api->set_header(r, keel_str{"Content-Type", 12},
                                keel_str{s.contentType.data(), s.contentType.size()});
            api->end(r, s.body.data(), s.body.size());
            return keel::done;
        }));
    out.push_back(keel::handle(
        ctx, "redirect", [](const keel::Use& use) { return RedirectState::parse(use.configJson); },
        [](RedirectState& s, keel::Request req) {
            // The target's bytes passed the parser: no CR, LF or blank can reach the header.
            const std::string location = s.location(req.target());
            req.status(s.status);
            req.setHeader("Location", location);
            req.end();
            return keel::done;
        }));
    return out;
}

} // namespace keel::http
