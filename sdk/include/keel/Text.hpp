#pragma once

// Small text helpers that plugins and the kernel both need on hot paths (header names are
// compared on every request), header-only.

#include <cstddef>
#include <cstdint>
#include <cstring>
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

namespace detail {
/// Copies n bytes, sizeof(Word) <= n <= 2 * sizeof(Word), as a word from each end (the two
/// may overlap).
template <class Word>
inline void copyEnds(unsigned char* d, const unsigned char* s, std::size_t n) {
    Word head, tail;
    std::memcpy(&head, s, sizeof head);
    std::memcpy(&tail, s + n - sizeof tail, sizeof tail);
    std::memcpy(d, &head, sizeof head);
    std::memcpy(d + n - sizeof tail, &tail, sizeof tail);
}
} // namespace detail

/// memcpy for the short pieces a request is made of (a method, a header name or value):
/// up to 16 bytes with two overlapping moves inline, at the call, instead of a library call
/// that costs more than the copy; longer pieces go to memcpy. The ranges must not overlap.
inline void copyBytes(void* to, const void* from, std::size_t n) {
    auto* d = static_cast<unsigned char*>(to);
    const auto* s = static_cast<const unsigned char*>(from);
    if (n > 16) {
        std::memcpy(d, s, n);
    } else if (n >= 8) {
        detail::copyEnds<std::uint64_t>(d, s, n);
    } else if (n >= 4) {
        detail::copyEnds<std::uint32_t>(d, s, n);
    } else if (n != 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

} // namespace keel
