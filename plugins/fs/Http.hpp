#pragma once

// HTTP semantics for serving files, shared by the `static` and `files` handlers: validators
// (ETag, Last-Modified), conditional requests (RFC 9110 §13), byte ranges (§14) and
// Accept-Encoding negotiation (§12.5.3). Pure functions of their inputs: any thread.

#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace keel_fs {

/// A strong ETag from what changes when a file is replaced or written: size, mtime (ns) and
/// inode. `suffix` tells representations apart ("br", "gzip" for precompressed siblings).
std::string makeETag(const struct stat& st, std::string_view suffix = {});

/// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and its parser (also RFC 850 and asctime,
/// as RFC 9110 requires recipients to accept). nullopt when unparsable.
std::string httpDate(std::time_t t);
std::optional<std::time_t> parseHttpDate(std::string_view text);

/// True when an If-None-Match / If-Match list names `etag` ("*" matches any current
/// representation). `weak`: W/ prefixes are ignored on both sides (If-None-Match);
/// otherwise a weak tag never matches (If-Match, If-Range).
bool etagListMatches(std::string_view list, std::string_view etag, bool weak);

/// The outcome of the preconditions for a GET or HEAD of an existing representation.
enum class Precondition { none, notModified /* 304 */, failed /* 412 */ };

/// RFC 9110 §13.2.2 order: If-Match, else If-Unmodified-Since (412); If-None-Match, else
/// If-Modified-Since (304). Each header is empty when absent. `etag` empty: no ETag.
Precondition evaluatePreconditions(std::string_view ifMatch, std::string_view ifUnmodifiedSince,
                                   std::string_view ifNoneMatch, std::string_view ifModifiedSince,
                                   std::string_view etag, std::time_t mtime);

/// A Range header against a representation of `size` bytes.
struct ByteRange {
    enum Kind { none, single, unsatisfiable } kind = none;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};
/// Only "bytes=" with one range is honoured; several ranges, another unit or a malformed
/// header answer `none` (the full 200, as RFC 9110 allows). A range starting at or past the
/// end (or a zero suffix) is unsatisfiable: 416 with Content-Range: bytes */size.
ByteRange parseRange(std::string_view header, std::uint64_t size);

/// If-Range (empty: absent): true when the range may be honoured, i.e. the value is the
/// current strong ETag or exactly the current Last-Modified date.
bool ifRangeAllows(std::string_view ifRange, std::string_view etag, std::time_t mtime);

/// "bytes 0-99/1234"
std::string contentRange(const ByteRange& r, std::uint64_t size);

/// Content codings from Accept-Encoding with their q-values.
struct AcceptEncoding {
    double br = 0, gzip = 0; // 0: refused or not listed (and no '*')
};
AcceptEncoding parseAcceptEncoding(std::string_view header);

/// Percent-encodes a path for a URL (keeps unreserved characters and '/').
std::string encodePath(std::string_view path);
/// Escapes & < > " ' for HTML text and attribute values.
std::string escapeHtml(std::string_view text);

} // namespace keel_fs
