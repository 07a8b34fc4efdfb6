#include "Pipeline.hpp"

#include "Request.hpp"

namespace keel::kernel {

namespace {

// The kernel's own last steps, for requests no route takes.
int answerNotFound(void*, void*, keel_request* req) {
    req->fail(404, "NOT_FOUND", "no route for " + std::string(req->method_) + " " + std::string(req->path_), false);
    return KEEL_DONE;
}

int answerMethodNotAllowed(void*, void*, keel_request* req) {
    req->setResponseHeader("Allow", req->allow_, true);
    req->fail(405, "METHOD_NOT_ALLOWED", std::string(req->method_) + " is not allowed here; allowed: " + req->allow_, false);
    return KEEL_DONE;
}

int answerBadRequest(void*, void*, keel_request* req) {
    req->setResponseHeader("Connection", "close", true);
    req->fail(400, "BAD_REQUEST", "invalid request target: bad percent-encoding or an encoded NUL", false);
    return KEEL_DONE;
}

const keel_handler_vtable kNotFound{sizeof(keel_handler_vtable), nullptr, nullptr, &answerNotFound};
const keel_handler_vtable kMethodNotAllowed{sizeof(keel_handler_vtable), nullptr, nullptr, &answerMethodNotAllowed};
const keel_handler_vtable kBadRequest{sizeof(keel_handler_vtable), nullptr, nullptr, &answerBadRequest};

} // namespace

CompiledSite::~CompiledSite() {
    for (Step& step : steps)
        if (step.vtable != nullptr && step.vtable->release != nullptr && step.state != nullptr)
            step.vtable->release(step.self, step.state);
    if (onRetire) onRetire();
}

void CompiledSite::addTerminals(const std::vector<const Step*>& middleware) {
    auto terminal = [&](CompiledRoute& route, const keel_handler_vtable* vtable, const char* where, bool withMiddleware) {
        steps.push_back(Step{vtable, nullptr, nullptr, nullptr, where, std::string("the kernel's ") + where});
        route.steps = withMiddleware ? middleware : std::vector<const Step*>{};
        route.steps.push_back(&steps.back());
        route.terminal = true;
        route.bodyLimit = 0;
    };
    // Site middleware runs for 404 and 405 too (security headers, rate limits), as in
    // Express; a malformed target is refused before any plugin sees it.
    terminal(notFound, &kNotFound, "kernel: not found", true);
    terminal(methodNotAllowed, &kMethodNotAllowed, "kernel: method not allowed", true);
    terminal(badRequest, &kBadRequest, "kernel: bad request", false);
}

} // namespace keel::kernel
