// hello: the example C++ plugin. It shows the SDK's C++ layer end to end: an embedded
// manifest with a config schema, a service (hello.counter@1), bus subscriptions, a timer
// and a subcommand (`keel hello`), and the module cache: library-level state is shared by
// every instance in the process, instance state is not (the seed's counter challenge).
#include <keel/sdk.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <charconv>
#include <string>

#include "HelloCounter.h"
#include "Handlers.hpp"

namespace {

// Library-level state: one copy per process, however many sites load the plugin.
std::uint64_t gLibraryCount = 0;

struct Config {
    std::string greeting = "Hello";
    std::uint64_t heartbeatMs = 0;

    static Config parse(std::string_view json) {
        Config c;
        Poco::JSON::Parser parser;
        auto obj = parser.parse(std::string(json)).extract<Poco::JSON::Object::Ptr>();
        if (obj->has("greeting")) c.greeting = obj->getValue<std::string>("greeting");
        if (obj->has("heartbeat_ms")) c.heartbeatMs = obj->getValue<std::uint64_t>("heartbeat_ms");
        return c;
    }
};

class Hello {
public:
    static constexpr std::string_view manifest = R"json({
        "name": "hello",
        "version": "0.1.0",
        "description": "Example C++ plugin: greets, counts calls, answers hello.ping with hello.pong",
        "sdk": "^1.0.0",
        "provides": ["hello.counter@1"],
        "commands": [{"name": "hello", "description": "Print a greeting: keel hello [NAME] [--wait MS]"}],
        "handlers": [
            {"name": "greet", "description": "Answers 'GREETING, NAME!' (NAME from :name, ?name= or 'world')",
             "config": {"type": "object", "properties": {
                 "greeting": {"type": "string", "minLength": 1, "description": "overrides the plugin's greeting"}}}},
            {"name": "echo", "description": "Answers a JSON echo of the request: method, path, params, body, attributes"},
            {"name": "stamp", "kind": "middleware", "description": "Adds X-Hello-Stamp and the 'stamp' attribute",
             "config": {"type": "object", "properties": {"value": {"type": "string"}}}},
            {"name": "fail", "description": "Fails on purpose: a keel::Error, or an unexpected exception",
             "config": {"type": "object", "properties": {"kind": {"enum": ["error", "exception"]}}}},
            {"name": "slow", "description": "Answers after a delay, from the loop; stops if the client goes away",
             "config": {"type": "object", "properties": {"delay_ms": {"type": "integer", "minimum": 0}}}}
        ],
        "config": {
            "type": "object",
            "properties": {
                "greeting": {"type": "string", "minLength": 1, "description": "the word before the name"},
                "heartbeat_ms": {"type": "integer", "minimum": 0, "description": "log a heartbeat every N ms (0: never)"}
            }
        }
    })json";

    explicit Hello(keel::Context ctx)
        : ctx_(ctx), config_(Config::parse(ctx.configJson())), handlers_(registerHandlers(ctx, config_.greeting)) {}

    void start() {
        ctx_.provide("hello.counter", 1, &kCounter, this);
        pong_ = ctx_.topic("hello.pong");
        ping_ = ctx_.subscribe("hello.ping", [this](const keel::Event& e) {
            increment();
            const std::string reply = config_.greeting + ", " + std::string(e.data) + "!";
            ctx_.publish(pong_, "text/plain", reply);
        });
        if (config_.heartbeatMs > 0)
            heartbeat_ = ctx_.setInterval(config_.heartbeatMs, [this] {
                ctx_.info("heartbeat: " + std::to_string(instanceCount_) + " pings answered here, " +
                          std::to_string(gLibraryCount) + " in the process");
            });
        ctx_.info(config_.greeting + " from " + std::string(ctx_.name()));
    }

    void stop() { ctx_.info("stopping after " + std::to_string(instanceCount_) + " pings"); }

    int command(std::string_view, std::span<const char* const> args) {
        std::string name = "world";
        std::uint64_t waitMs = 0;
        for (std::size_t i = 1; i < args.size(); ++i) {
            std::string_view arg = args[i];
            if (arg == "--wait" && i + 1 < args.size()) {
                std::string_view v = args[++i];
                auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), waitMs);
                if (ec != std::errc() || end != v.data() + v.size()) {
                    ctx_.error("--wait: expected a number of milliseconds, found '" + std::string(v) + "'");
                    return 2;
                }
            } else if (!arg.empty() && arg[0] == '-') {
                ctx_.error("unknown option '" + std::string(arg) + "'; usage: keel hello [NAME] [--wait MS]");
                return 2;
            } else {
                name = arg;
            }
        }
        const std::string line = config_.greeting + ", " + name + "!\n";
        if (waitMs == 0) {
            ctx_.print(line);
            return 0;
        }
        // Finishes later, from the loop: the command shows the pending protocol.
        wait_ = ctx_.setTimeout(waitMs, [this, line] {
            ctx_.print(line);
            ctx_.commandDone(0);
        });
        return keel::pending;
    }

private:
    std::uint64_t increment() {
        ++gLibraryCount;
        return ++instanceCount_;
    }

    static const hello_counter_v1 kCounter;

    keel::Context ctx_;
    Config config_;
    std::uint64_t instanceCount_ = 0;
    keel_topic pong_ = 0;
    keel::Subscription ping_;
    keel::Timer heartbeat_;
    keel::Timer wait_;
    std::vector<keel::HandlerRegistration> handlers_;
};

const hello_counter_v1 Hello::kCounter = {
    sizeof(hello_counter_v1),
    [](void* self) -> std::uint64_t { return static_cast<Hello*>(self)->increment(); },
    [](void* self) -> std::uint64_t { return static_cast<Hello*>(self)->instanceCount_; },
    [](void*) -> std::uint64_t { return gLibraryCount; },
    [](void*) { gLibraryCount = 0; },
};

} // namespace

KEEL_PLUGIN(Hello)
