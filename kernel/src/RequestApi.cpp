// The C tables over keel_request: keel_request_api for steps, and the per-request half of
// keel_transport_api for transports (the site half lives with the sites, in Sites.cpp).
#include "Request.hpp"

#include "Pipeline.hpp"

#include <string>

namespace keel::kernel {

namespace {

keel_str str(const std::string& s) { return keel_str{s.data(), s.size()}; }
keel_str str(std::string_view s) { return keel_str{s.data(), s.size()}; }
std::string_view view(keel_str s) { return std::string_view(s.ptr, s.len); }

int found(bool ok, std::string_view v, keel_str* out) {
    if (!ok) return -1;
    if (out != nullptr) *out = str(v);
    return 0;
}

const keel_request_api kRequestApi = {
    sizeof(keel_request_api),
    [](keel_request* r) { return str(r->method_); },
    [](keel_request* r) { return str(r->target_); },
    [](keel_request* r) { return str(r->path_); },
    [](keel_request* r) { return str(r->query_); },
    [](keel_request* r, keel_str name, size_t index, keel_str* value) {
        std::string_view v;
        return found(r->queryParam(view(name), index, v), v, value);
    },
    [](keel_request* r, keel_str name, size_t index, keel_str* value) {
        std::string_view v;
        return found(r->header(view(name), index, v), v, value);
    },
    [](keel_request* r) { return r->headers_.size(); },
    [](keel_request* r, size_t index) {
        if (index >= r->headers_.size()) return keel_header{{nullptr, 0}, {nullptr, 0}};
        return keel_header{str(r->headers_[index].first), str(r->headers_[index].second)};
    },
    [](keel_request* r, keel_str name, keel_str* value) {
        std::string_view v;
        return found(r->param(view(name), v), v, value);
    },
    [](keel_request* r) { return str(r->client_); },
    [](keel_request* r) { return str(r->id_); },
    [](keel_request* r, keel_str key, keel_str value) {
        for (auto& [k, v] : r->attributes_)
            if (k == view(key)) {
                v.assign(value.ptr, value.len);
                return;
            }
        r->attributes_.emplace_back(std::string(view(key)), std::string(view(value)));
    },
    [](keel_request* r, keel_str key, keel_str* value) {
        for (const auto& [k, v] : r->attributes_)
            if (k == view(key)) return found(true, v, value);
        return -1;
    },
    [](keel_request* r) { return r->contentLength_; },
    [](keel_request* r) { return r->route_ ? r->route_->bodyLimit : std::uint64_t(0); },
    [](keel_request* r, keel_request_fn done, void* user) { return r->readBody(done, user); },
    [](keel_request* r) { return str(r->body_); },
    [](keel_request* r, keel_chunk_fn onChunk, void* user) { return r->streamBody(onChunk, user); },
    [](keel_request* r) { r->resumeBody(); },
    [](keel_request* r, int result) { r->resume(result); },
    [](keel_request* r, keel_request_fn fn, void* user) {
        r->abortFn_ = fn;
        r->abortUser_ = user;
    },
    [](keel_request* r) { return r->aborted_ ? 1 : 0; },
    [](keel_request* r, int status) {
        if (!r->headSent_) r->status_ = status;
    },
    [](keel_request* r, keel_str name, keel_str value) { r->setResponseHeader(view(name), view(value), true); },
    [](keel_request* r, keel_str name, keel_str value) { r->setResponseHeader(view(name), view(value), false); },
    [](keel_request* r, const void* data, size_t len) { return r->write(data, len); },
    [](keel_request* r, keel_request_fn fn, void* user) {
        r->drain_ = fn;
        r->drainUser_ = user;
    },
    [](keel_request* r, const void* data, size_t len) { r->end(data, len); },
    [](keel_request* r, int fd, uint64_t offset, uint64_t length) { return r->sendFile(fd, offset, length); },
    [](keel_request* r, int status, keel_str code, keel_str message, int internal) {
        r->fail(status, view(code), view(message), internal != 0);
    },
    [](keel_request* r) { return r->headSent_ ? 1 : 0; },
    [](keel_request* r) { return r->status_; },
};

} // namespace

const keel_request_api* requestApi() { return &kRequestApi; }

} // namespace keel::kernel
