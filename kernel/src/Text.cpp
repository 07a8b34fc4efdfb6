#include "Text.hpp"

namespace keel::kernel {

std::string quoteForMessage(std::string_view input) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (char c : input) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7f) {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

} // namespace keel::kernel
