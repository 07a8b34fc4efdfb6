#pragma once

// The file API's errno → HTTP mapping (issue 5): ENOENT 404, EACCES/EPERM/EROFS 403,
// EISDIR/ENOTDIR/ENOTEMPTY/EEXIST 409, ENOSPC/EDQUOT 507, others 500. Beyond the issue's
// table: ELOOP and EXDEV (a symlink the route may not follow, a path that would leave the
// root) are 403, ENAMETOOLONG is 414, EFBIG 413. The code is the errno's name ("ENOENT"),
// "EUNKNOWN" for a number without one. Pure functions, any thread.

namespace keel_fs {

struct ErrnoStatus {
    int status;
    const char* code; // static storage
};

/// The status and code for `err` (a positive errno value; a negative one is negated).
ErrnoStatus statusForErrno(int err);

} // namespace keel_fs
