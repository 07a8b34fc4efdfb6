#pragma once

// JSON string literals for plugins that write small JSON documents by hand (event payloads,
// listings, reports): `"`, `\` and control characters escaped, DEL too, so the text is also
// safe to print on a terminal. Bytes >= 0x80 pass through as they are.

#include <string>
#include <string_view>

namespace keel {

/// Appends `text` to `out` as a JSON string literal, quotes included.
inline void appendJsonString(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7F) {
                out += "\\u00";
                out += kHex[c >> 4];
                out += kHex[c & 15];
            } else {
                out += ch;
            }
        }
    }
    out += '"';
}

/// `text` as a JSON string literal, quotes included.
inline std::string quoteJson(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    appendJsonString(out, text);
    return out;
}

} // namespace keel
