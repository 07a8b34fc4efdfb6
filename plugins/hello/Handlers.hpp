#pragma once

#include <keel/sdk.hpp>

#include <string>
#include <vector>

/// The hello plugin's request handlers (greet, echo, stamp, fail, slow): a small tour of the
/// pipeline API, and what the kernel's pipeline tests drive through the test client.
std::vector<keel::HandlerRegistration> registerHandlers(const keel::Context& ctx, const std::string& greeting);
