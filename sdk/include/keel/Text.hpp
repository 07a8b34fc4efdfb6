#pragma once

// Small text helpers that plugins and the kernel both need on hot paths (header names are
// compared on every request), header-only.

#include <cstddef>
#include <string_view>

namespace keel {

/// ASCII case-insensitive equality ("Content-Length" == "content-length"). A byte loop
/// inlined at the call: header names are short, and strncasecmp's locale-aware library
/// call costs more than the comparison itself. Bytes >= 0x80 compare exactly.
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        unsigned x = static_cast<unsigned char>(a[i]);
        unsigned y = static_cast<unsigned char>(b[i]);
        if (x - 'A' < 26u) x += 32;
        if (y - 'A' < 26u) y += 32;
        if (x != y) return false;
    }
    return true;
}

} // namespace keel
