#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace keel::kernel {

/// Where each value of a JSON text is, by key path, so config errors can name a line.
/// Poco parses the values; this only indexes positions. Paths are written the way error
/// messages write them: "" is the root, "routes[2].config.root" a nested value. An object
/// member is placed at its key (where an operator looks for it), an array element where it
/// starts.
///
/// The scan never throws: on a syntax error it keeps what it indexed so far and records
/// the line where it stopped, which Poco's own messages lack.
class JsonPositions {
public:
    /// A key an object sets more than once: JSON keeps only the last, which is rarely meant.
    struct Duplicate {
        std::string path; // of the later occurrence
        int line;         // of the later occurrence
        int firstLine;
    };

    /// Indexes `text`, whose comments must already be blanked (stripJsonComments keeps
    /// every line where it was).
    static JsonPositions scan(std::string_view text);

    /// The 1-based line of `path`, or of the nearest enclosing value the text has (a
    /// missing key is reported where its object is); 0 when nothing encloses it.
    int line(std::string_view path) const;
    /// The line of exactly `path`, or 0.
    int exactLine(std::string_view path) const;

    const std::vector<Duplicate>& duplicates() const { return duplicates_; }
    /// After a syntax error: the line where the scan stopped (else 0) and what it found there.
    int errorLine() const { return errorLine_; }
    const std::string& error() const { return error_; }

    /// "a.b" from ("a", "b"); "b" from ("", "b").
    static std::string member(std::string_view path, std::string_view key);
    /// "a[3]" from ("a", 3).
    static std::string element(std::string_view path, std::size_t index);

private:
    class Scanner;

    std::map<std::string, int, std::less<>> lines_;
    std::vector<Duplicate> duplicates_;
    int errorLine_ = 0;
    std::string error_;
};

} // namespace keel::kernel
