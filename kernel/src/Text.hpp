#pragma once

#include <string>
#include <string_view>

namespace keel::kernel {

/// `input` in double quotes for an error message or a log line, with `"` and `\` escaped and
/// control characters as \xNN: a mangled or hostile string from a manifest cannot inject line
/// breaks or terminal escapes into logs and `keel check` output.
std::string quoteForMessage(std::string_view input);

} // namespace keel::kernel
