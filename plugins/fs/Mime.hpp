#pragma once

// Content types by file extension: /etc/mime.types (Debian's media-types package) over a
// built-in table, so a machine without the file still answers the common types right.
// Text types (text/*, JavaScript, JSON, SVG, XML, manifests) get "; charset=utf-8".
// Immutable after load: any thread.

#include <string>
#include <string_view>
#include <unordered_map>

namespace keel_fs {

class MimeTypes {
public:
    /// The built-in table only.
    MimeTypes();
    /// The built-in table, then `path` (mime.types format: "type ext ext...", '#' comments)
    /// over it. A file that cannot be read leaves the built-in table and sets `*warning`.
    static MimeTypes load(const std::string& path, std::string* warning);

    /// Adds the entries of mime.types-format text (later entries win).
    void parse(std::string_view text);

    /// The Content-Type for a file name (by its last extension, case-insensitive):
    /// "text/css; charset=utf-8", or "application/octet-stream" when unknown.
    const std::string& forName(std::string_view fileName) const;

    /// Whether a bare media type gets a charset parameter.
    static bool isText(std::string_view type);

    std::size_t size() const { return byExt_.size(); }

private:
    void add(std::string_view ext, std::string_view type);

    std::unordered_map<std::string, std::string> byExt_;
    std::string fallback_ = "application/octet-stream";
};

} // namespace keel_fs
