#pragma once

#include <keel/abi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel::kernel {

class CompiledSite;
struct CompiledRoute;
struct Step;

/// Whether a request path holds a '%' escape or a NUL, so decodePath has work to do (else
/// the path is used as it is).
bool pathNeedsDecoding(std::string_view raw);
/// Percent-decodes a request path. Returns false for an invalid escape or an encoded NUL
/// (the request is refused with 400 before any step sees it).
bool decodePath(std::string_view raw, std::string& out);
/// Decodes a query component ('+' is a space); invalid escapes are kept as they are.
std::string decodeQueryComponent(std::string_view raw);

} // namespace keel::kernel

/// One request in a site's pipeline (the ABI's opaque keel_request). Owned by the kernel:
/// freed once the transport released it and no step holds it. Loop thread only.
struct keel_request {
    using Site = keel::kernel::CompiledSite;

    keel_request(std::shared_ptr<const Site> site, const keel_request_info& info, const keel_transport_vtable* transport,
                 void* conn);
    ~keel_request() = default;
    keel_request(const keel_request&) = delete;
    keel_request& operator=(const keel_request&) = delete;

    /// A request for the transport. Finished requests are kept whole on a small per-thread
    /// free list (reset, with their buffers' capacity) and handed out again, so a request
    /// costs no allocation, constructor or destructor once the server is warm. Freed by the
    /// kernel (finishIfDone).
    static keel_request* create(std::shared_ptr<const Site> site, const keel_request_info& info,
                                const keel_transport_vtable* transport, void* conn);

    /// Routes and runs the pipeline as far as it goes now.
    void begin();
    /// Runs steps from the current one until one holds or ends the request.
    void run();
    void resume(int result);

    // --- request body, from the transport ---
    void bodyData(const void* data, std::size_t len);
    void bodyEnd();
    /// A body announced over the route's limit: answers 413 at once. Returns true then.
    bool refuseAnnouncedBody();
    int readBody(keel_request_fn done, void* user);
    int streamBody(keel_chunk_fn onChunk, void* user);
    void resumeBody();
    bool wantsBody() const;

    // --- response ---
    int write(const void* data, std::size_t len);
    void end(const void* data, std::size_t len);
    int sendFile(int fd, std::uint64_t offset, std::uint64_t length);
    void fail(int status, std::string_view code, std::string_view message, bool internal);
    void drained();
    void abort();
    void release();

    // --- lookups ---
    bool header(std::string_view name, std::size_t index, std::string_view& value) const;
    bool queryParam(std::string_view name, std::size_t index, std::string_view& value);
    bool param(std::string_view name, std::string_view& value) const;
    void setResponseHeader(std::string_view name, std::string_view value, bool replace);

    std::shared_ptr<const Site> site_;
    const keel_transport_vtable* transport_;
    void* conn_;
    // What the transport handed over, copied into one buffer (one allocation for the
    // method, target, client address, id and every header) and viewed from there.
    std::unique_ptr<char[]> strings_;
    std::size_t stringsCapacity_ = 0;
    std::string_view method_;
    std::string_view target_;
    std::string_view path_;   // into strings_, or decodedPath_ when it had escapes
    std::string_view query_;  // into strings_ (still encoded)
    std::string decodedPath_;
    std::string_view client_;
    std::string_view id_;
    std::vector<std::pair<std::string_view, std::string_view>> headers_;
    std::vector<std::pair<std::string_view, std::string_view>> params_; // into path_ and the route pattern
    std::vector<std::pair<std::string, std::string>> attributes_;
    std::vector<std::pair<std::string, std::string>> queryParams_;
    bool queryParsed_ = false;
    std::int64_t contentLength_ = 0;
    bool expectContinue_ = false;

    const keel::kernel::CompiledRoute* route_ = nullptr;
    std::size_t step_ = 0;
    bool pending_ = false; // a step holds the request
    bool running_ = false;
    std::string allow_;    // for 405

    // body
    enum class BodyMode { none, buffer, stream } bodyMode_ = BodyMode::none;
    std::string body_;
    std::uint64_t bodyReceived_ = 0;
    bool bodyEnded_ = false;
    bool bodyPaused_ = false;
    bool continueSent_ = false;
    bool deferredBody_ = false;
    keel_request_fn bodyDone_ = nullptr;
    keel_chunk_fn chunk_ = nullptr;
    void* bodyUser_ = nullptr;

    // response
    int status_ = 200;
    std::vector<std::pair<std::string, std::string>> responseHeaders_;
    bool headSent_ = false;
    bool ended_ = false;
    bool aborted_ = false;
    bool released_ = false;
    bool waitingDrain_ = false;
    keel_request_fn drain_ = nullptr;
    void* drainUser_ = nullptr;
    keel_request_fn abortFn_ = nullptr;
    void* abortUser_ = nullptr;

private:
    /// Takes the request on (a new object, or one from the free list): its site, transport
    /// and connection, and what the transport handed over, copied into strings_ (method,
    /// target, client, id, headers) and viewed from there.
    void adopt(std::shared_ptr<const Site> site, const keel_request_info& info, const keel_transport_vtable* transport,
               void* conn);
    /// Back to the state of a new request, keeping the buffers' capacity (the free list).
    void recycle();
    /// Frees the request, or keeps it on the free list.
    void destroy();
    void sendHead(std::int64_t contentLength);
    void finishIfDone();
    void deliverBuffered();
    void endBodyCallbacks();
    bool head() const { return method_ == "HEAD"; }
};

namespace keel::kernel {

const keel_request_api* requestApi();
const keel_transport_api* transportApi();

} // namespace keel::kernel
