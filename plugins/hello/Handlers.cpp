#include "Handlers.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <memory>
#include <sstream>
#include <stdexcept>

namespace {

Poco::JSON::Object::Ptr parse(std::string_view json) {
    Poco::JSON::Parser parser;
    return parser.parse(std::string(json)).extract<Poco::JSON::Object::Ptr>();
}

std::string stringify(const Poco::JSON::Object& obj) {
    std::ostringstream out;
    obj.stringify(out);
    return out.str();
}

struct Greet {
    std::string greeting;
};

struct Stamp {
    std::string value;
};

struct Fail {
    bool exception;
};

/// A pending response: owned by the timer callback, told when the client goes away.
struct SlowState {
    std::uint64_t delayMs;
};

struct SlowRequest {
    keel::Request req;
    keel::Timer timer;
};

} // namespace

std::vector<keel::HandlerRegistration> registerHandlers(const keel::Context& ctx, const std::string& greeting) {
    std::vector<keel::HandlerRegistration> out;

    out.push_back(keel::handle(
        ctx, "greet",
        [greeting](const keel::Use& use) {
            auto config = parse(use.configJson);
            return Greet{config->has("greeting") ? config->getValue<std::string>("greeting") : greeting};
        },
        [](Greet& g, keel::Request req) {
            std::string name = "world";
            if (auto p = req.param("name")) name = *p;
            else if (auto q = req.query("name")) name = *q;
            req.send(200, "text/plain; charset=utf-8", g.greeting + ", " + name + "!");
            return keel::done;
        }));

    out.push_back(keel::handle(
        ctx, "echo", [](const keel::Use&) { return 0; },
        [](int&, keel::Request req) {
            return req.readBody([](keel::Request r) {
                Poco::JSON::Object echo;
                echo.set("method", std::string(r.method()));
                echo.set("path", std::string(r.path()));
                echo.set("query", std::string(r.queryString()));
                echo.set("body", std::string(r.body()));
                if (auto id = r.param("id")) echo.set("id", std::string(*id));
                if (auto rest = r.param("*")) echo.set("rest", std::string(*rest));
                if (auto stamp = r.attribute("stamp")) echo.set("stamp", std::string(*stamp));
                if (auto type = r.header("content-type")) echo.set("contentType", std::string(*type));
                if (!r.aborted()) r.json(200, stringify(echo));
                r.resume(keel::done);
            });
        }));

    out.push_back(keel::handle(
        ctx, "stamp",
        [](const keel::Use& use) {
            auto config = parse(use.configJson);
            return Stamp{config->has("value") ? config->getValue<std::string>("value") : std::string(use.siteName)};
        },
        [](Stamp& s, keel::Request req) {
            req.setHeader("X-Hello-Stamp", s.value);
            req.setAttribute("stamp", s.value);
            return keel::next;
        }));

    out.push_back(keel::handle(
        ctx, "fail",
        [](const keel::Use& use) {
            auto config = parse(use.configJson);
            return Fail{config->has("kind") && config->getValue<std::string>("kind") == "exception"};
        },
        [](Fail& f, keel::Request) -> int {
            if (f.exception) throw std::runtime_error("database password is hunter2");
            throw keel::Error(418, "TEAPOT", "I refuse to brew coffee");
        }));

    out.push_back(keel::handle(
        ctx, "slow",
        [](const keel::Use& use) {
            auto config = parse(use.configJson);
            return SlowState{config->has("delay_ms") ? config->getValue<std::uint64_t>("delay_ms") : 50};
        },
        [ctx](SlowState& s, keel::Request req) {
            auto pending = std::make_shared<SlowRequest>(SlowRequest{req, {}});
            pending->timer = ctx.setTimeout(s.delayMs, [pending] {
                pending->req.send(200, "text/plain", "finally");
                pending->req.resume(keel::done);
            });
            // The client went away: let the kernel free the request, then stop the timer,
            // whose callback owns `pending` (clearing it frees `p`: nothing may follow).
            req.api()->on_abort(
                req.raw(),
                [](void* user, keel_request*) {
                    auto* p = static_cast<SlowRequest*>(user);
                    p->req.resume(keel::done);
                    p->timer.clear();
                },
                pending.get());
            return keel::pending;
        }));
    return out;
}
