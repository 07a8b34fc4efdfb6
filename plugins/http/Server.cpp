#include "Server.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <dlfcn.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "Connection.hpp"
#include "Listener.hpp"

namespace keel::http {

namespace {

constexpr std::uint64_t kSweepMs = 250;
constexpr std::uint64_t kLogFlushMs = 1000;

const char* const kTopicNames[] = {"http.listening", "http.connection", "http.request",
                                   "http.checkContinue", "http.close"};

/// One listener of one site, as sites_json describes it.
struct SiteListener {
    std::string address;
    std::string host;
    std::uint16_t port = 0;
    std::string cert;
    std::string key;
};

struct SiteEntry {
    std::string name;
    std::vector<SiteListener> listeners;
};

std::vector<SiteEntry> readSites(const keel_host_api* host, keel_ctx* ctx) {
    std::vector<SiteEntry> sites;
    const keel_str json = host->transport->sites_json(ctx);
    Poco::JSON::Parser parser;
    const auto root =
        parser.parse(std::string(json.ptr, json.len)).extract<Poco::JSON::Array::Ptr>();
    for (const auto& item : *root) {
        const auto obj = item.extract<Poco::JSON::Object::Ptr>();
        SiteEntry site;
        site.name = obj->getValue<std::string>("name");
        if (const auto listeners = obj->getArray("listeners")) {
            for (const auto& l : *listeners) {
                const auto lo = l.extract<Poco::JSON::Object::Ptr>();
                SiteListener listener;
                listener.address = lo->getValue<std::string>("address");
                listener.host = lo->optValue<std::string>("host", "");
                listener.port = static_cast<std::uint16_t>(lo->optValue<int>("port", 0));
                if (const auto tls = lo->getObject("tls")) {
                    listener.cert = tls->optValue<std::string>("cert", "");
                    listener.key = tls->optValue<std::string>("key", "");
                }
                site.listeners.push_back(std::move(listener));
            }
        }
        sites.push_back(std::move(site));
    }
    return sites;
}

const SiteEntry* findSite(const std::vector<SiteEntry>& sites, std::string_view name) {
    for (const auto& s : sites)
        if (s.name == name) return &s;
    return nullptr;
}

// Libuv may call back into this library after the kernel unloaded it (close callbacks of
// handles still open when a test's loop is torn down after its plugin catalog): pin the
// library in memory for the life of the process.
void pinLibrary() {
    static bool pinned = false;
    if (pinned) return;
    pinned = true;
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&pinLibrary), &info) != 0 && info.dli_fname != nullptr)
        (void)::dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

// TLS contexts by certificate and key file, shared by listeners; cleared on SIGHUP so the
// files are read again.
std::map<std::pair<std::string, std::string>, TlsContextPtr>& tlsCache() {
    static auto* cache = new std::map<std::pair<std::string, std::string>, TlsContextPtr>;
    return *cache;
}

TlsContextPtr tlsContext(const std::string& cert, const std::string& key) {
    auto& cache = tlsCache();
    auto it = cache.find({cert, key});
    if (it != cache.end()) return it->second;
    auto context = std::make_shared<TlsContext>(cert, key);
    cache[{cert, key}] = context;
    return context;
}

} // namespace

// Made when the library loads, never destroyed (see Server::get), and read without the
// guard a function-local static costs on every call.
Server* const Server::instance_ = new Server;

keel_ctx* Server::anyCtx() const {
    for (const Member* m : members_)
        if (!m->leaving) return m->ctx;
    return members_.empty() ? nullptr : members_.front()->ctx;
}

void Server::log(keel_ctx* ctx, keel_log_level level, std::string_view text) const {
    if (host_ == nullptr) return;
    if (ctx == nullptr) ctx = anyCtx();
    if (ctx != nullptr) host_->log(ctx, level, keel_str{text.data(), text.size()});
}

bool Server::wants(keel_ctx* ctx, Topic topic) const {
    return host_ != nullptr && ctx != nullptr &&
           host_->has_subscribers(ctx, topics_[static_cast<int>(topic)]) != 0;
}

void Server::publish(keel_ctx* ctx, Topic topic, std::string_view json) const {
    if (host_ == nullptr || ctx == nullptr) return;
    static const char kType[] = "application/json";
    const keel_payload payload{{kType, sizeof kType - 1}, json.data(), json.size()};
    host_->publish(ctx, topics_[static_cast<int>(topic)], &payload);
}

template <class F> void Server::callback(const char* what, F&& fn) {
    invoke(anyCtx(), what, std::forward<F>(fn));
}

// --- instances ----------------------------------------------------------------------------

void Server::start(uv_loop_t* loop, const keel_host_api* host) {
    pinLibrary();
    loop_ = loop;
    host_ = host;
    stopping_ = false;
    ++generation_;
    if (idPrefix_ == 0) {
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&idPrefix_), sizeof idPrefix_) != 1)
            idPrefix_ = static_cast<std::uint32_t>(::getpid());
        static const char kHex[] = "0123456789abcdef";
        std::uint32_t prefix = idPrefix_;
        for (int i = 7; i >= 0; --i, prefix >>= 4)
            idText_[i] = kHex[prefix & 15];
        std::memset(idText_ + 8, '0', sizeof idText_ - 8);
    }
    if (!readBuffer_) readBuffer_ = std::make_unique<char[]>(kReadBufferSize);
    // Not zeroed: its pages are touched only as far as reads reach.
    if (!batchArena_) batchArena_.reset(new char[kBatchArenaSize]);
    if (!plainBuffer_) plainBuffer_ = std::make_unique<char[]>(kPlainBufferSize);
    fallback_ = std::make_shared<SiteSettings>();
    auto makeTimer = [this] {
        auto* timer = new uv_timer_t;
        uv_timer_init(loop_, timer);
        timer->data = this;
        uv_unref(reinterpret_cast<uv_handle_t*>(timer));
        return timer;
    };
    sweepTimer_ = makeTimer();
    deferTimer_ = makeTimer();
    batchCheck_ = new uv_check_t;
    uv_check_init(loop_, batchCheck_);
    batchCheck_->data = this;
    logTimer_ = makeTimer(); // armed by logsPending: no wake-ups without access logs to flush
}

bool Server::siteListed(const keel_host_api* host, keel_ctx* ctx, std::string_view site) const {
    try {
        const auto sites = readSites(host, ctx);
        return findSite(sites, site) != nullptr;
    } catch (const std::exception&) {
        return false;
    }
}

void Server::join(Member& member) {
    uv_loop_t* loop = static_cast<uv_loop_t*>(member.host->uv_loop(member.ctx));
    if (loop_ != nullptr && loop_ != loop)
        throw ConfigError(
            "the http plugin serves one kernel per process, and another one is running");
    if (loop_ == nullptr) start(loop, member.host);
    for (int i = 0; i < static_cast<int>(Topic::count_); ++i)
        topics_[i] =
            host_->topic(member.ctx, keel_str{kTopicNames[i], std::strlen(kTopicNames[i])});
    members_.push_back(&member);
    if (!member.site.empty()) settings_[member.site] = member.settings;
    try {
        acquireListeners(member);
    } catch (...) {
        for (const auto& l : std::vector<ListenerPtr>(member.listeners))
            releaseListener(member, l);
        member.draining.clear();
        members_.erase(std::remove(members_.begin(), members_.end(), &member), members_.end());
        auto it = settings_.find(member.site);
        if (it != settings_.end() && it->second == member.settings) settings_.erase(it);
        if (members_.empty()) shutdownNow();
        throw;
    }
    refreshListeners(member.ctx);
}

void Server::acquireListeners(Member& member) {
    if (member.site.empty()) return;
    const auto sites = readSites(host_, member.ctx);
    const SiteEntry* site = findSite(sites, member.site);
    if (site == nullptr) return;
    for (const auto& l : site->listeners) {
        const bool held =
            std::any_of(member.listeners.begin(), member.listeners.end(),
                        [&](const ListenerPtr& p) { return p->address() == l.address; });
        if (held) continue;
        const bool tls = !l.cert.empty();
        // The certificate is checked now, so a missing or mismatched key stops the start.
        if (tls) {
            try {
                tlsContext(l.cert, l.key);
            } catch (const ConfigError& e) {
                throw ConfigError("listener " + l.address + " (site " + member.site +
                                  "): " + e.what());
            }
        }
        ListenerPtr listener;
        if (auto it = listeners_.find(l.address); it != listeners_.end()) {
            listener = it->second;
            if (listener->tls() != tls)
                throw ConfigError(
                    "listener " + l.address + " (site " + member.site + "): " +
                    (tls ? "TLS is configured here, but another site listens on this address "
                           "without it"
                         : "another site listens on this address with TLS, this one without"));
        } else {
            listener = std::make_shared<Listener>(l.address, l.host, l.port, tls);
            listener->setDefaults(member.settings ? member.settings : fallback_);
            listener->open(loop_); // throws ConfigError
            listeners_[l.address] = listener;
            const std::string text = "listening on " + listener->boundText() + " (site " +
                                     member.site + (tls ? ", TLS)" : ")");
            log(member.ctx, KEEL_LOG_INFO, text);
            if (wants(member.ctx, Topic::listening)) {
                std::string json = "{\"address\":";
                appendJsonString(json, l.address);
                json += ",\"bound\":";
                appendJsonString(json, listener->boundText());
                json += ",\"port\":" + std::to_string(listener->boundPort()) +
                        ",\"tls\":" + (tls ? "true" : "false") + ",\"site\":";
                appendJsonString(json, member.site);
                json += "}";
                publish(member.ctx, Topic::listening, json);
            }
        }
        listener->users.push_back(&member);
        member.listeners.push_back(listener);
    }
}

std::string_view Server::nextRequestId() {
    countUpHex(idText_ + 8, sizeof idText_ - 8);
    return std::string_view(idText_, sizeof idText_);
}

void Server::refreshListeners(keel_ctx* ctx) {
    ++generation_;
    if (host_ == nullptr || ctx == nullptr) return;
    std::vector<SiteEntry> sites;
    try {
        sites = readSites(host_, ctx);
    } catch (const std::exception& e) {
        log(ctx, KEEL_LOG_ERROR, std::string("cannot read the sites: ") + e.what());
        return;
    }
    for (auto& [address, listener] : listeners_) {
        const keel_str addr{address.data(), address.size()};
        keel_site* fallback = host_->transport->site_for(ctx, addr, keel_str{"", 0}, 0);
        std::string defaultSite;
        if (fallback != nullptr) {
            const keel_str name = host_->transport->site_name(fallback);
            defaultSite.assign(name.ptr, name.len);
        }
        SiteSettingsPtr defaults = settingsFor(defaultSite);
        listener->setDefaults(defaults ? defaults : fallback_);
        if (!listener->tls()) continue;
        std::map<std::string, TlsContextPtr, std::less<>> bySite;
        for (const auto& site : sites) {
            for (const auto& l : site.listeners) {
                if (l.address != address || l.cert.empty()) continue;
                try {
                    bySite[site.name] = tlsContext(l.cert, l.key);
                } catch (const ConfigError& e) {
                    // A bad file after a reload: the site keeps the certificate it had.
                    log(ctx, KEEL_LOG_ERROR,
                        "listener " + address + " (site " + site.name + "): " + e.what() +
                            "; keeping the certificate loaded before");
                    auto old = listener->tlsBySite().find(site.name);
                    if (old != listener->tlsBySite().end()) bySite[site.name] = old->second;
                }
            }
        }
        listener->setTls(std::move(bySite), defaultSite);
    }
}

void Server::refresh(Member& member) {
    if (host_ == nullptr || member.leaving) return;
    std::vector<SiteEntry> sites;
    try {
        sites = readSites(host_, member.ctx);
    } catch (const std::exception& e) {
        log(member.ctx, KEEL_LOG_ERROR, std::string("cannot read the sites: ") + e.what());
        return;
    }
    const SiteEntry* site = findSite(sites, member.site);
    for (const auto& listener : std::vector<ListenerPtr>(member.listeners)) {
        const bool wanted =
            site != nullptr &&
            std::any_of(site->listeners.begin(), site->listeners.end(), [&](const auto& l) {
                return l.address == listener->address() && l.cert.empty() != listener->tls();
            });
        if (!wanted) releaseListener(member, listener);
    }
    try {
        acquireListeners(member);
    } catch (const ConfigError& e) {
        log(member.ctx, KEEL_LOG_ERROR, e.what());
    }
    refreshListeners(member.ctx);
}

void Server::releaseListener(Member& member, const ListenerPtr& listener) {
    auto& users = listener->users;
    users.erase(std::remove(users.begin(), users.end(), &member), users.end());
    member.listeners.erase(std::remove(member.listeners.begin(), member.listeners.end(), listener),
                           member.listeners.end());
    if (!users.empty()) return;
    listener->setLastCtx(member.ctx);
    if (auto it = listeners_.find(listener->address());
        it != listeners_.end() && it->second == listener)
        listeners_.erase(it);
    const bool wasOpen = !listener->closed();
    listener->close();
    if (listener->connections > 0) {
        if (std::find(closing_.begin(), closing_.end(), listener) == closing_.end())
            closing_.push_back(listener);
        member.draining.push_back(listener);
        for (Connection* c = first_; c != nullptr; c = c->next)
            if (&c->listener() == listener.get()) c->drain();
    } else if (wasOpen && wants(member.ctx, Topic::close)) {
        std::string json = "{\"address\":";
        appendJsonString(json, listener->address());
        json += "}";
        publish(member.ctx, Topic::close, json);
    }
}

bool Server::leave(Member& member) {
    member.leaving = true;
    ++generation_;
    if (host_ == nullptr) return false;
    // Another instance of the same site (a reload's new one) takes over its settings.
    if (auto it = settings_.find(member.site);
        it != settings_.end() && it->second == member.settings) {
        settings_.erase(it);
        for (const Member* other : members_)
            if (other != &member && other->site == member.site && !other->leaving)
                settings_[other->site] = other->settings;
    }
    if (member.settings && member.settings->accessLog) member.settings->accessLog->flush();
    for (const auto& listener : std::vector<ListenerPtr>(member.listeners))
        releaseListener(member, listener);
    const bool last = std::none_of(members_.begin(), members_.end(),
                                   [&](const Member* m) { return m != &member && !m->leaving; });
    if (last) {
        // The last instance: every connection in the process is its to wait for.
        beginStop();
        for (const auto& l : closing_)
            if (std::find(member.draining.begin(), member.draining.end(), l) ==
                member.draining.end())
                member.draining.push_back(l);
    }
    std::erase_if(member.draining, [](const ListenerPtr& l) { return l->connections == 0; });
    const bool wait = !member.draining.empty() || (last && connectionCount_ > 0);
    // The last one out with nothing to wait for: the server is done with this kernel.
    if (last && !wait) shutdownNow();
    return wait;
}

void Server::forget(Member& member) {
    auto it = std::find(members_.begin(), members_.end(), &member);
    if (it == members_.end()) return;
    ++generation_;
    members_.erase(it);
    member.stopDone = nullptr;
    if (auto s = settings_.find(member.site); s != settings_.end() && s->second == member.settings)
        settings_.erase(s);
    for (const auto& listener : std::vector<ListenerPtr>(member.listeners))
        releaseListener(member, listener);
    if (members_.empty()) {
        shutdownNow();
        return;
    }
    // Connections still draining under this instance's name continue under another's.
    for (const auto& l : closing_)
        if (l->users.empty()) l->setLastCtx(anyCtx());
    member.draining.clear();
}

void Server::beginStop() {
    if (host_ == nullptr) return;
    stopping_ = true;
    for (auto& [address, listener] : listeners_) {
        listener->setLastCtx(listener->ctx());
        const bool wasOpen = !listener->closed();
        listener->close();
        if (listener->connections > 0) {
            if (std::find(closing_.begin(), closing_.end(), listener) == closing_.end())
                closing_.push_back(listener);
        } else if (wasOpen && wants(listener->ctx(), Topic::close)) {
            std::string json = "{\"address\":";
            appendJsonString(json, address);
            json += "}";
            publish(listener->ctx(), Topic::close, json);
        }
    }
    for (Connection* c = first_; c != nullptr;) {
        Connection* next = c->next;
        c->drain();
        c = next;
    }
}

void Server::reload() {
    if (host_ == nullptr) return;
    keel_ctx* ctx = anyCtx();
    // Certificates are read again; a listener keeps a site's old one if its files fail.
    tlsCache().clear();
    refreshListeners(ctx);
    for (const auto& [site, settings] : settings_) {
        if (!settings->accessLog) continue;
        std::string error;
        if (!settings->accessLog->reopen(error))
            log(ctx, KEEL_LOG_ERROR, "site " + site + ": " + error);
    }
}

void Server::shutdownNow() {
    members_.clear();
    if (loop_ == nullptr) return;
    // Whatever still runs is cut: the process (or this kernel) is going away, too late to
    // involve the pipeline.
    for (Connection* c = first_; c != nullptr;) {
        Connection* next = c->next;
        c->closeNow();
        c = next;
    }
    for (auto& [address, listener] : listeners_)
        listener->close();
    listeners_.clear();
    flushLogs();
    settings_.clear();
    for (uv_timer_t* timer : {sweepTimer_, deferTimer_, logTimer_})
        if (timer != nullptr)
            uv_close(reinterpret_cast<uv_handle_t*>(timer),
                     [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    sweepTimer_ = deferTimer_ = logTimer_ = nullptr;
    if (batchCheck_ != nullptr)
        uv_close(reinterpret_cast<uv_handle_t*>(batchCheck_),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_check_t*>(h); });
    batchCheck_ = nullptr;
    batchReads_.clear();
    batchWrites_.clear();
    deferred_.clear();
    closing_.clear();
    loop_ = nullptr;
    host_ = nullptr;
    tlsCache().clear();
}

// --- connections ----------------------------------------------------------------------------

HeadScratch* Server::takeHead() {
    if (heads_.empty()) return new HeadScratch;
    HeadScratch* head = heads_.back();
    heads_.pop_back();
    return head;
}

void Server::giveHead(HeadScratch* head) {
    if (head == nullptr) return;
    if (heads_.size() >= 256 || head->bytes.capacity() > 64 * 1024) {
        delete head;
        return;
    }
    head->clear();
    heads_.push_back(head);
}

SiteSettingsPtr Server::settingsFor(std::string_view site) const {
    auto it = settings_.find(site);
    return it == settings_.end() ? nullptr : it->second;
}

void Server::add(Connection* connection) {
    connection->next = first_;
    connection->prev = nullptr;
    if (first_ != nullptr) first_->prev = connection;
    first_ = connection;
    if (connectionCount_++ == 0 && sweepTimer_ != nullptr)
        uv_timer_start(
            sweepTimer_, [](uv_timer_t* t) { static_cast<Server*>(t->data)->sweep(); }, kSweepMs,
            kSweepMs);
}

void Server::remove(Connection* connection) {
    if (connection->prev != nullptr)
        connection->prev->next = connection->next;
    else if (first_ == connection)
        first_ = connection->next;
    if (connection->next != nullptr) connection->next->prev = connection->prev;
    connection->prev = connection->next = nullptr;
    // Out of every queue it is in. (A batch pass being run keeps its own list: connections
    // are deleted in the loop's closing phase, never during a pass, which runs in the poll or
    // the check phase.)
    auto leave = [connection](std::vector<Connection*>& queue, bool Connection::*queued) {
        if (!(connection->*queued)) return;
        queue.erase(std::remove(queue.begin(), queue.end(), connection), queue.end());
        connection->*queued = false;
    };
    leave(deferred_, &Connection::deferred);
    leave(batchReads_, &Connection::batchedRead);
    leave(batchWrites_, &Connection::batchedWrite);
    if (--connectionCount_ == 0) {
        if (sweepTimer_ != nullptr) uv_timer_stop(sweepTimer_);
        maybeFinishStops();
    }
}

void Server::defer(Connection* connection) {
    if (connection->deferred || deferTimer_ == nullptr) return;
    connection->deferred = true;
    deferred_.push_back(connection);
    if (deferred_.size() == 1) {
        // A zero timeout runs in the next iteration's timers phase; referenced meanwhile so
        // the loop does not exit with work pending.
        uv_ref(reinterpret_cast<uv_handle_t*>(deferTimer_));
        uv_timer_start(
            deferTimer_, [](uv_timer_t* t) { static_cast<Server*>(t->data)->runDeferred(); }, 0, 0);
    }
}

uv_buf_t Server::readSpace(bool batchable) {
    // (A batch is answered before it or the arena is full, so there is always room.)
    if (batchable && batchCheck_ != nullptr)
        return uv_buf_init(batchArena_.get() + batchUsed_, static_cast<unsigned>(kReadBufferSize));
    return uv_buf_init(readBuffer_.get(), static_cast<unsigned>(kReadBufferSize));
}

bool Server::batchRead(Connection* connection, const char* data, std::size_t length,
                       std::uint32_t& offset, std::uint32_t& kept) {
    // Only the arena's free part was offered, so a read there starts where it is free.
    if (data != batchArena_.get() + batchUsed_ || length > kBatchReadMax || connection->batchedRead)
        return false;
    offset = static_cast<std::uint32_t>(batchUsed_);
    kept = static_cast<std::uint32_t>(length);
    batchUsed_ += length;
    // The check phase follows the poll phase without blocking: no reference is needed.
    if (batchReads_.empty())
        uv_check_start(batchCheck_,
                       [](uv_check_t* c) { static_cast<Server*>(c->data)->runBatch(); });
    connection->batchedRead = true;
    batchReads_.push_back(connection);
    // Full (connections, or the room a next read needs): answered now, in the poll phase.
    if (batchReads_.size() >= kBatchMax || kBatchArenaSize - batchUsed_ < kReadBufferSize)
        runBatch();
    return true;
}

bool Server::batchWrite(Connection* connection) {
    if (!answering_) return false;
    if (!connection->batchedWrite) {
        connection->batchedWrite = true;
        batchWrites_.push_back(connection);
    }
    return true;
}

template <class F>
void Server::runPass(std::vector<Connection*>& queue, std::vector<Connection*>& now,
                     bool Connection::*queued, F&& each) {
    now.swap(queue); // the two vectors keep their capacity: no allocation
    for (Connection* c : now) {
        if (!(c->*queued)) continue;
        c->*queued = false;
        each(c);
    }
    now.clear();
}

void Server::runBatch() {
    uv_check_stop(batchCheck_);
    // Pass 1: every read of the poll phase is parsed and answered, one kernel callback per
    // connection (as Node drains nextTick between sockets' callbacks).
    // (A connection no longer marked was answered already, as its end of file came, or
    // closed.)
    answering_ = true;
    runPass(batchReads_, batchNow_, &Connection::batchedRead,
            [](Connection* c) { c->answerBatch(); });
    answering_ = false;
    batchUsed_ = 0; // what was not parsed was copied (as from the shared read buffer)
    // Pass 2: the answers are written, one write each (no kernel call: a failed write
    // closes its connection through the deferred queue).
    runPass(batchWrites_, batchNow_, &Connection::batchedWrite,
            [](Connection* c) { c->writeBatch(); });
}

void Server::runDeferred() {
    uv_unref(reinterpret_cast<uv_handle_t*>(deferTimer_));
    callback("deferred", [this] {
        // A connection deferred again once its turn came is run again in the next round.
        // (Its own vector: it must not share one with a batch pass.)
        while (!deferred_.empty())
            runPass(deferred_, deferredNow_, &Connection::deferred,
                    [](Connection* c) { c->runDeferred(); });
    });
}

void Server::sweep() {
    callback("timeouts", [this] {
        const std::uint64_t now = uv_now(loop_);
        for (Connection* c = first_; c != nullptr;) {
            Connection* next = c->next;
            c->checkDeadline(now);
            c = next;
        }
    });
}

void Server::logsPending() {
    // One flush at most kLogFlushMs after the first line that waits; none while idle.
    if (logTimer_ != nullptr && uv_is_active(reinterpret_cast<uv_handle_t*>(logTimer_)) == 0)
        uv_timer_start(
            logTimer_, [](uv_timer_t* t) { static_cast<Server*>(t->data)->flushLogs(); },
            kLogFlushMs, 0);
}

void Server::flushLogs() {
    for (const auto& [site, settings] : settings_)
        if (settings->accessLog && settings->accessLog->pending()) settings->accessLog->flush();
}

void Server::listenerDrained(Listener& listener) {
    if (!listener.closed()) return;
    keel_ctx* ctx = listener.ctx() != nullptr ? listener.ctx() : anyCtx();
    if (wants(ctx, Topic::close)) {
        std::string json = "{\"address\":";
        appendJsonString(json, listener.address());
        json += "}";
        publish(ctx, Topic::close, json);
    }
    std::erase_if(closing_, [&](const ListenerPtr& l) { return l.get() == &listener; });
    maybeFinishStops();
}

void Server::maybeFinishStops() {
    for (std::size_t i = 0; i < members_.size(); ++i) {
        Member* m = members_[i];
        if (!m->stopDone) continue;
        std::erase_if(m->draining, [](const ListenerPtr& l) { return l->connections == 0; });
        const bool last = std::none_of(members_.begin(), members_.end(),
                                       [&](const Member* o) { return !o->leaving; });
        if (!m->draining.empty() || (last && connectionCount_ > 0)) continue;
        auto done = std::move(m->stopDone);
        m->stopDone = nullptr;
        keel_ctx* ctx = m->ctx;
        const keel_host_api* host = host_;
        // Everything drained after the last instance left: the server is done with this
        // kernel (even if an instance is never destroyed, a request the pipeline kept alive
        // holding it, the next kernel in this process starts afresh).
        if (last) shutdownNow();
        // The member is stopped now; the kernel goes on with the next plugin.
        host->make_callback(
            ctx, "stop", [](void* fn) { (*static_cast<std::function<void()>*>(fn))(); }, &done);
        return; // members_ may have changed
    }
}

} // namespace keel::http
