// http: the HTTP/1.1 and TLS server. Each site that lists the plugin gets an instance (its
// config: limits, unknown-host policy, access log, trusted proxies); the instances share
// one Server (Server.hpp) holding the listening sockets and connections, which turns bytes
// into requests for the sites' pipelines. Also provides the `respond` and `redirect`
// handlers.
#include <keel/sdk.hpp>

#include "Config.hpp"
#include "Handlers.hpp"
#include "Server.hpp"

namespace {

using keel::http::Server;

class Http {
public:
    static constexpr std::string_view manifest = R"json({
        "name": "http",
        "version": "0.1.0",
        "description": "HTTP/1.1 and TLS server on the kernel's loop: listeners from the site manifests, requests into their pipelines",
        "sdk": "^1.0.0",
        "transport": true,
        "handlers": [
            {"name": "respond", "description": "Answers with a fixed status, headers and body (nginx's return)",
             "config": {"type": "object", "properties": {
                 "status": {"type": "integer", "minimum": 200, "maximum": 599, "description": "default 200"},
                 "headers": {"type": "object", "additionalProperties": true, "description": "name: value"},
                 "body": {"type": "string"},
                 "content_type": {"type": "string", "description": "default text/plain; charset=utf-8 with a body"}}}},
            {"name": "redirect", "description": "Redirects to a URL; {path} and {query} take the request's",
             "config": {"type": "object", "required": ["to"], "properties": {
                 "to": {"type": "string", "minLength": 1},
                 "status": {"enum": [301, 302, 303, 307, 308], "description": "default 302"}}}}
        ],
        "config": {
            "type": "object",
            "properties": {
                "limits": {"type": "object", "properties": {
                    "header_bytes": {"type": "integer", "minimum": 256, "description": "request line and headers (431 above); default 16384"},
                    "header_count": {"type": "integer", "minimum": 1, "description": "header fields (431 above); default 100"},
                    "url_bytes": {"type": "integer", "minimum": 16, "description": "request target (414 above); default 8192"},
                    "headers_timeout_ms": {"type": "integer", "minimum": 1, "description": "to receive a request head (408 after); default 10000"},
                    "keepalive_timeout_ms": {"type": "integer", "minimum": 0, "description": "idle between requests; default 5000"},
                    "body_idle_timeout_ms": {"type": "integer", "minimum": 1, "description": "without body bytes or write progress; default 30000"},
                    "max_connections": {"type": "integer", "minimum": 1, "description": "per process; default 10000"}}},
                "unknown_host": {"enum": ["default", "421", "404"], "description": "what a Host no site names gets; default: the address's default site"},
                "access_log": {"type": "object", "required": ["path"], "properties": {
                    "path": {"type": "string", "minLength": 1},
                    "format": {"enum": ["combined", "json"], "description": "default combined"}}},
                "trusted_proxies": {"type": "array", "items": {"type": "string"}, "description": "CIDRs whose X-Forwarded-For and X-Request-Id are believed"},
                "echo_request_id": {"type": "boolean", "description": "X-Request-Id in every response; default true"}
            }
        }
    })json";

    explicit Http(keel::Context ctx)
        : ctx_(ctx), config_(keel::http::Config::parse(ctx.configJson())),
          handlers_(keel::http::registerHandlers(ctx)) {}

    ~Http() { Server::get().forget(member_); }

    Http(const Http&) = delete;
    Http& operator=(const Http&) = delete;

    void start() {
        const keel_str site = ctx_.host()->transport->instance_site(ctx_.raw());
        auto settings = std::make_shared<keel::http::SiteSettings>();
        settings->site.assign(site.ptr, site.len);
        settings->config = config_;
        if (config_.accessLog)
            settings->accessLog = std::make_shared<keel::http::AccessLog>(*config_.accessLog);
        member_.ctx = ctx_.raw();
        member_.host = ctx_.host();
        member_.site = settings->site;
        member_.settings = settings;
        if (member_.site.empty()) {
            ctx_.info("not part of a site: no listener to open (the handlers still work)");
            return;
        }
        if (Server::get().siteListed(ctx_.host(), ctx_.raw(), member_.site)) {
            Server::get().join(member_); // a bad certificate or a busy address fails the start
        } else {
            // The kernel lists a site before starting its plugins; a host that does not (an
            // embedding test harness) gets its listeners opened right after the start, and a
            // failure then can only be logged; see README.md ("Start-up errors").
            ctx_.nextTick([this] {
                try {
                    Server::get().join(member_);
                } catch (const std::exception& e) {
                    ctx_.error("cannot serve site " + member_.site + ": " + e.what());
                }
            });
        }
        reloaded_ = ctx_.subscribe("site.reloaded",
                                   [this](const keel::Event&) { Server::get().refresh(member_); });
        hangup_ =
            ctx_.subscribe("kernel.reload", [](const keel::Event&) { Server::get().reload(); });
        stopping_ = ctx_.subscribe("kernel.stopping",
                                   [](const keel::Event&) { Server::get().beginStop(); });
    }

    int stop() {
        reloaded_.reset();
        hangup_.reset();
        stopping_.reset();
        member_.stopDone = [ctx = ctx_] { ctx.stopDone(); };
        if (Server::get().leave(member_)) return keel::pending;
        member_.stopDone = nullptr;
        return 0;
    }

private:
    keel::Context ctx_;
    keel::http::Config config_;
    std::vector<keel::HandlerRegistration> handlers_;
    keel::http::Member member_;
    keel::Subscription reloaded_;
    keel::Subscription hangup_;
    keel::Subscription stopping_;
};

} // namespace

KEEL_PLUGIN(Http)
