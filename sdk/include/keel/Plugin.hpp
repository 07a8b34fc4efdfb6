#pragma once

// KEEL_PLUGIN(Type): turns a C++ class into a Keel plugin.
//
//   class Hello {
//   public:
//       static constexpr std::string_view manifest = R"({"name": "hello", "version": "1.0.0", ...})";
//       explicit Hello(keel::Context ctx);     // create: parse config here (throw to refuse)
//       void start();                         // optional; throw to fail the start
//       int stop();                           // optional; void, or int: 0 or keel::pending
//       int command(std::string_view name, std::span<const char* const> args); // optional
//   };
//   KEEL_PLUGIN(Hello)
//
// The macro emits the one exported entry point. Exceptions from the constructor, start(),
// stop() or command() are caught here and reported to the kernel with the plugin's name;
// the destructor must not throw.

#include <keel/Context.hpp>

#include <concepts>
#include <exception>
#include <memory>
#include <span>
#include <string_view>

namespace keel::detail {

template <class T>
concept HasStart = requires(T& t) { t.start(); };
template <class T>
concept HasStop = requires(T& t) { t.stop(); };
template <class T>
concept HasCommand = requires(T& t, std::string_view name, std::span<const char* const> args) {
    { t.command(name, args) } -> std::convertible_to<int>;
};

template <class T>
class Adapter {
public:
    static const keel_plugin_desc* descriptor() {
        static const keel_plugin_desc desc = {
            sizeof(keel_plugin_desc),
            KEEL_ABI_MAJOR,
            KEEL_ABI_MINOR,
            toStr(T::manifest),
            &create,
            &start,
            &stop,
            &destroy,
            HasCommand<T> ? &command : nullptr,
        };
        return &desc;
    }

private:
    struct Instance {
        Context ctx;
        std::unique_ptr<T> plugin;
    };

    static void fail(keel_ctx* ctx, const keel_host_api* host, std::exception_ptr error) {
        std::string text;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            text = e.what();
        } catch (...) {
            text = "non-standard exception";
        }
        host->set_error(ctx, toStr(text));
    }

    static void* create(keel_ctx* ctx, const keel_host_api* host) {
        auto instance = std::make_unique<Instance>(Instance{Context(ctx, host), nullptr});
        try {
            instance->plugin = std::make_unique<T>(instance->ctx);
        } catch (...) {
            fail(ctx, host, std::current_exception());
            return nullptr;
        }
        return instance.release();
    }

    static int start(void* p) {
        auto* instance = static_cast<Instance*>(p);
        if constexpr (HasStart<T>) {
            try {
                instance->plugin->start();
            } catch (...) {
                fail(instance->ctx.raw(), instance->ctx.host(), std::current_exception());
                return 1;
            }
        }
        return 0;
    }

    static int stop(void* p) {
        auto* instance = static_cast<Instance*>(p);
        if constexpr (HasStop<T>) {
            try {
                if constexpr (std::is_void_v<decltype(instance->plugin->stop())>) {
                    instance->plugin->stop();
                } else {
                    return static_cast<int>(instance->plugin->stop());
                }
            } catch (...) {
                fail(instance->ctx.raw(), instance->ctx.host(), std::current_exception());
                return 1;
            }
        }
        return 0;
    }

    static void destroy(void* p) { delete static_cast<Instance*>(p); }

    static int command(void* p, keel_str name, int argc, const char* const* argv) {
        auto* instance = static_cast<Instance*>(p);
        if constexpr (HasCommand<T>) {
            try {
                return instance->plugin->command(toView(name),
                                                 std::span<const char* const>(argv, static_cast<std::size_t>(argc)));
            } catch (...) {
                fail(instance->ctx.raw(), instance->ctx.host(), std::current_exception());
                return 1;
            }
        }
        return 1;
    }
};

} // namespace keel::detail

#define KEEL_PLUGIN(Type)                                                                           \
    extern "C" KEEL_EXPORT const keel_plugin_desc* keel_plugin_entry(void) {                        \
        return ::keel::detail::Adapter<Type>::descriptor();                                         \
    }
