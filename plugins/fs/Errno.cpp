#include "Errno.hpp"

#include <cerrno>
#include <cstring>

namespace keel_fs {

ErrnoStatus statusForErrno(int err) {
    if (err < 0) err = -err;
    switch (err) {
    case ENOENT: return {404, "ENOENT"};
    case EACCES: return {403, "EACCES"};
    case EPERM: return {403, "EPERM"};
    case EROFS: return {403, "EROFS"};
    case ELOOP: return {403, "ELOOP"};
    case EXDEV: return {403, "EXDEV"};
    case EISDIR: return {409, "EISDIR"};
    case ENOTDIR: return {409, "ENOTDIR"};
    case ENOTEMPTY: return {409, "ENOTEMPTY"};
    case EEXIST: return {409, "EEXIST"};
    case ENAMETOOLONG: return {414, "ENAMETOOLONG"};
    case EFBIG: return {413, "EFBIG"};
    case ENOSPC: return {507, "ENOSPC"};
    case EDQUOT: return {507, "EDQUOT"};
    default: break;
    }
    // glibc 2.32+: the symbolic name ("EIO"), static storage; null for unknown numbers.
    const char* name = err == 0 ? nullptr : ::strerrorname_np(err);
    return {500, name != nullptr ? name : "EUNKNOWN"};
}

} // namespace keel_fs
