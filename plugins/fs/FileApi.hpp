#pragma once

// The fs plugin's `files` handler: a file API on a root directory. GET a file (sendFile,
// ETag/Range) or a directory (a JSON list); with "write": true also PUT (atomic replace:
// temporary file, fsync, rename, fsync of the directory), mkdir -p, DELETE and copy.
// See plugins/fs/README.md and the manifest in Plugin.cpp for the configuration.

#include <keel/sdk.hpp>

namespace keel_fs {

/// Registers the `files` handler of this plugin instance; keep the result as a member.
keel::HandlerRegistration registerFilesHandler(const keel::Context& ctx);

} // namespace keel_fs
