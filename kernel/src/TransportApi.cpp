// keel_transport_api: how a transport (the http plugin, the test client) finds sites and
// feeds requests into their pipelines.
#include "PluginInstance.hpp"
#include "Request.hpp"
#include "Sites.hpp"

namespace keel::kernel {

namespace {

std::string_view view(keel_str s) { return std::string_view(s.ptr, s.len); }

Sites* sitesOf(keel_ctx* ctx) { return ctx->instance->runtime().sites; }

keel_str sitesJson(keel_ctx* ctx) {
    static const std::string none = "[]";
    const std::string& json = sitesOf(ctx) ? sitesOf(ctx)->json() : none;
    return keel_str{json.data(), json.size()};
}

keel_site* siteFor(keel_ctx* ctx, keel_str address, keel_str host, int exactOnly) {
    Sites* sites = sitesOf(ctx);
    return sites ? sites->siteFor(view(address), view(host), exactOnly != 0) : nullptr;
}

keel_str siteName(keel_site* site) { return keel_str{site->info.name.data(), site->info.name.size()}; }

keel_str instanceSite(keel_ctx* ctx) {
    const std::string& site = ctx->instance->site();
    return keel_str{site.data(), site.size()};
}

keel_request* requestBegin(keel_ctx*, keel_site* site, const keel_request_info* info, const keel_transport_vtable* transport,
                           void* conn) {
    keel_request* request = keel_request::create(site->current, *info, transport, conn);
    request->begin();
    return request;
}

const keel_transport_api kTransportApi = {
    sizeof(keel_transport_api),
    &sitesJson,
    &siteFor,
    &siteName,
    &instanceSite,
    &requestBegin,
    [](keel_request* r, const void* data, size_t len) {
        if (len == 0) r->bodyEnd();
        else r->bodyData(data, len);
    },
    [](keel_request* r) { r->drained(); },
    [](keel_request* r) { r->abort(); },
    [](keel_request* r) { r->release(); },
    [](keel_request* r) { return r->wantsBody() ? 1 : 0; },
};

} // namespace

const keel_transport_api* transportApi() { return &kTransportApi; }

} // namespace keel::kernel
