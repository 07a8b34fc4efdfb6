#pragma once

#include <string>

namespace keel::kernel {

/// Who scheduled a callback: a plugin instance, or the kernel. The loop names it when a
/// callback blocks for too long, and clears everything an owner still holds when it stops.
/// An Owner must outlive every callback scheduled under it (Loop::clearOwner ends them).
struct Owner {
    std::string name;
};

} // namespace keel::kernel
