#pragma once

// The process's HTTP server: library-level state shared by every http instance (the module
// cache gives each site its own instance of the plugin, and all of them share this). It owns
// the listening sockets, keyed by listener address (the first instance needing an address
// opens it, the last one to stop closes it), the per-site settings requests look up once
// their Host has chosen a site, the connections, and the loop handles they share: one
// sweep timer for every connection's deadline, one deferred-work queue, the Date cache and
// the buffer pools. Loop thread only.

#include <keel/abi.h>
#include <uv.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "AccessLog.hpp"
#include "Buffer.hpp"
#include "Config.hpp"
#include "Response.hpp"

namespace keel::http {

class Connection;
class Listener;
using ListenerPtr = std::shared_ptr<Listener>;

/// One site's settings, from the http instance that site runs.
struct SiteSettings {
    std::string site;
    Config config;
    std::shared_ptr<AccessLog> accessLog; // null when the site logs no access
};
using SiteSettingsPtr = std::shared_ptr<const SiteSettings>;

/// What the server knows of one started http instance (Plugin.cpp owns it).
struct Member {
    keel_ctx* ctx = nullptr;
    const keel_host_api* host = nullptr;
    std::string site; // "" outside a site: such an instance serves nothing
    SiteSettingsPtr settings;
    std::vector<ListenerPtr> listeners; // the addresses its site listens on
    std::vector<ListenerPtr> draining;  // closed for it, waited for by its stop
    std::function<void()> stopDone;     // set while its stop is pending
    bool leaving = false;               // stop() was called
};

/// One request head being read: where its target and each header are. While the whole
/// head so far lies in the input piece being parsed (the usual case: a head arrives in one
/// read), the offsets point into that piece and nothing is copied; a head that goes on into
/// another piece is gathered into `bytes` at the first piece's end (Connection::spillHead).
struct HeadScratch {
    struct Span {
        std::uint32_t nameOffset, nameLength, valueOffset, valueLength;
    };
    Buffer bytes;
    bool inPiece = true; // the offsets are into the input piece, not `bytes`
    std::uint32_t urlOffset = 0;
    std::uint32_t urlLength = 0;
    std::vector<Span> headers;
    std::vector<keel_header> view; // keel_header array for request_begin
    void clear() {
        bytes.clear();
        inPiece = true;
        urlOffset = 0;
        urlLength = 0;
        headers.clear();
        view.clear();
    }
};

class Server {
public:
    /// The process's server (created on first use, never destroyed: libuv may still call
    /// back into it while the loop closes handles at exit).
    static Server& get() { return *instance_; }

    // --- instances ------------------------------------------------------------------------
    /// Whether sites_json lists `site` yet (while the kernel starts a site, its plugins start
    /// before the site is published).
    bool siteListed(const keel_host_api* host, keel_ctx* ctx, std::string_view site) const;
    /// A started instance joins: its settings serve its site, its site's listeners open.
    /// Throws ConfigError (TLS files, an address that cannot be bound), leaving nothing open.
    void join(Member& member);
    /// The sites changed (site.reloaded): listeners follow the new manifests.
    void refresh(Member& member);
    /// The instance stops: its listeners close when no other instance uses them, and their
    /// connections drain. Returns true when it must wait; member.stopDone runs once drained.
    bool leave(Member& member);
    /// The instance is destroyed: forget it; the last one closes whatever is still open now.
    void forget(Member& member);
    /// kernel.stopping: stop accepting everywhere; idle connections close, busy ones finish.
    void beginStop();
    /// SIGHUP (kernel.reload): certificates and access logs are reopened.
    void reload();

    // --- for listeners and connections -----------------------------------------------------
    uv_loop_t* loop() const { return loop_; }
    const keel_host_api* host() const { return host_; }
    const keel_transport_api* transport() const { return host_->transport; }
    /// Any live instance's context, for calls that need one (logs, the bus).
    keel_ctx* anyCtx() const;
    bool stopping() const { return stopping_; }
    std::uint64_t now() const { return uv_now(loop_); }
    Clock& clock() { return clock_; }
    BufferPool& buffers() { return buffers_; }
    HeadScratch* takeHead();
    void giveHead(HeadScratch* head);
    /// An access log line is buffered: it is flushed within a second (no timer runs while
    /// nothing waits, so an idle server is not woken for it).
    void logsPending();
    static constexpr std::size_t kReadBufferSize = 64 * 1024;
    char* plainBuffer() { return plainBuffer_.get(); }
    static constexpr std::size_t kPlainBufferSize = 16 * 1024 + 64;

    /// The settings of a site's http instance; null when the site runs none.
    SiteSettingsPtr settingsFor(std::string_view site) const;
    /// Moves whenever sites, listeners or settings change (see Listener::cachedSite).
    std::uint64_t generation() const { return generation_; }
    /// A new request id: a per-process random prefix and a counter, 20 hex digits (ids from
    /// several workers and restarts do not collide in merged logs). The text is counted up
    /// in place, so it is valid until the next call.
    std::string_view nextRequestId();
    /// Defaults for addresses whose sites run no http instance.
    const SiteSettingsPtr& fallbackSettings() const { return fallback_; }

    void add(Connection* connection);
    void remove(Connection* connection);
    std::size_t connections() const { return connectionCount_; }
    /// Runs connection->runDeferred() on the next loop iteration (outside any kernel call).
    void defer(Connection* connection);

    // --- the read batch (see Connection.hpp) --------------------------------------------------
    /// Where a connection reads into: the batch's arena when the connection may wait for the
    /// batch, else the shared read buffer.
    uv_buf_t readSpace(bool batchable);
    /// A read made into readSpace() waits for the batch, where it lies: true, with the
    /// piece's place in the arena (a batch that becomes full is answered now, before this
    /// returns: hence both out-parameters). False when it cannot (not in the arena, too
    /// large): it is answered at once, and its arena space is reused.
    bool batchRead(Connection* connection, const char* data, std::size_t length,
                   std::uint32_t& offset, std::uint32_t& kept);
    /// The bytes of a batched read (valid until the batch ends).
    const char* batchBytes(std::uint32_t offset) const { return batchArena_.get() + offset; }
    /// While the batch is answered: queues the connection's output for the write pass and
    /// returns true. Outside it, false (write now).
    bool batchWrite(Connection* connection);
    /// Reads up to this size may wait for the batch (a larger one is a body: parsed at once).
    static constexpr std::size_t kBatchReadMax = 16 * 1024;
    /// Connections per batch: what one read waits for at most (libuv hands out up to 1024
    /// events per poll). Measured with tests/perf/http.sh's load (64 connections), batches
    /// of 8 saved less CPU than 16 to 256, which did not differ beyond the noise.
    static constexpr std::size_t kBatchMax = 64;
    /// The arena batched reads stay in; a read is offered the shared buffer's size of it.
    static constexpr std::size_t kBatchArenaSize = 256 * 1024;
    /// A listener's last connection went away.
    void listenerDrained(Listener& listener);

    // --- the bus ---------------------------------------------------------------------------
    enum class Topic { listening, connection, request, checkContinue, close, count_ };
    bool wants(keel_ctx* ctx, Topic topic) const;
    void publish(keel_ctx* ctx, Topic topic, std::string_view json) const;

    void log(keel_ctx* ctx, keel_log_level level, std::string_view text) const;

private:
    Server() = default;
    static Server* const instance_;
    void start(uv_loop_t* loop, const keel_host_api* host);
    void shutdownNow();
    /// Opens (or shares) the listeners of `member`'s site as sites_json describes them.
    void acquireListeners(Member& member);
    void releaseListener(Member& member, const ListenerPtr& listener);
    /// Recomputes every listener's defaults and TLS contexts from sites_json.
    void refreshListeners(keel_ctx* ctx);
    void maybeFinishStops();
    void sweep();
    void runDeferred();
    void runBatch();
    /// Runs `each` on every connection of `queue` still marked `queued` (clearing the mark),
    /// from `now`, which takes the queue's place; the queue is empty after, or holds what
    /// was queued meanwhile.
    template <class F>
    void runPass(std::vector<Connection*>& queue, std::vector<Connection*>& now,
                 bool Connection::*queued, F&& each);
    void flushLogs();
    template <class F> void callback(const char* what, F&& fn);

    uv_loop_t* loop_ = nullptr;
    const keel_host_api* host_ = nullptr;
    std::vector<Member*> members_;
    std::map<std::string, SiteSettingsPtr, std::less<>> settings_;
    SiteSettingsPtr fallback_;
    std::map<std::string, ListenerPtr, std::less<>> listeners_;
    std::vector<ListenerPtr> closing_; // closed listeners whose connections still run
    Connection* first_ = nullptr;      // every connection, an intrusive list
    std::size_t connectionCount_ = 0;
    std::vector<Connection*> deferred_;
    std::vector<Connection*> batchReads_;  // read, to be answered in the check phase
    std::vector<Connection*> batchWrites_; // answered, to be written after all of them
    std::vector<Connection*> batchNow_;    // the batch pass being run
    std::vector<Connection*> deferredNow_; // the deferred connections being run
    uv_check_t* batchCheck_ = nullptr;
    std::unique_ptr<char[]> batchArena_;
    std::size_t batchUsed_ = 0; // arena bytes held by batched reads
    bool answering_ = false;
    uv_timer_t* sweepTimer_ = nullptr;
    uv_timer_t* deferTimer_ = nullptr;
    uv_timer_t* logTimer_ = nullptr;
    bool stopping_ = false;
    std::uint64_t generation_ = 1;
    std::uint32_t idPrefix_ = 0;
    char idText_[20] = {};
    Clock clock_;
    BufferPool buffers_{256, 64 * 1024}; // at most 16 MiB kept for reuse
    std::vector<HeadScratch*> heads_;
    std::unique_ptr<char[]> readBuffer_;
    std::unique_ptr<char[]> plainBuffer_;
    keel_topic topics_[static_cast<int>(Topic::count_)] = {};
};

/// Runs `fn` as a loop callback on behalf of the instance `ctx` (the kernel's make_callback:
/// timed by the lag monitor, nextTick and microtask queues drained after). Exceptions are
/// logged, never thrown into libuv. Without a context (every instance gone), runs it plainly.
template <class F> void invoke(keel_ctx* ctx, const char* what, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    struct Call {
        Fn* fn;
        keel_ctx* ctx;
        const char* what;
    } call{&fn, ctx, what};
    auto run = [](void* user) {
        auto* c = static_cast<Call*>(user);
        try {
            (*c->fn)();
        } catch (const std::exception& e) {
            Server::get().log(c->ctx, KEEL_LOG_ERROR,
                              std::string("uncaught exception in ") + c->what + ": " + e.what());
        } catch (...) {
            Server::get().log(c->ctx, KEEL_LOG_ERROR,
                              std::string("uncaught exception in ") + c->what);
        }
    };
    if (ctx == nullptr)
        run(&call);
    else
        Server::get().host()->make_callback(ctx, what, run, &call);
}

} // namespace keel::http
