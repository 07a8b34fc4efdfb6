// keel_fs::statusForErrno: the file API's errno table, entry by entry (issue 5: ENOENT 404,
// EACCES/EPERM/EROFS 403, EISDIR/ENOTDIR/ENOTEMPTY/EEXIST 409, ENOSPC/EDQUOT 507, others 500).
#include <cppunit/extensions/HelperMacros.h>

#include <cerrno>
#include <string>

#include "Errno.hpp"

namespace {

void expect(int err, int status, const std::string& code) {
    const keel_fs::ErrnoStatus s = keel_fs::statusForErrno(err);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(code, status, s.status);
    CPPUNIT_ASSERT_EQUAL(code, std::string(s.code));
}

} // namespace

class ErrnoTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ErrnoTest);
    CPPUNIT_TEST(testNotFound);
    CPPUNIT_TEST(testForbidden);
    CPPUNIT_TEST(testConflict);
    CPPUNIT_TEST(testInsufficientStorage);
    CPPUNIT_TEST(testBeyondTheIssuesTable);
    CPPUNIT_TEST(testOthersAre500WithTheirName);
    CPPUNIT_TEST(testNegativeErrno);
    CPPUNIT_TEST_SUITE_END();

public:
    void testNotFound() { expect(ENOENT, 404, "ENOENT"); }

    void testForbidden() {
        expect(EACCES, 403, "EACCES");
        expect(EPERM, 403, "EPERM");
        expect(EROFS, 403, "EROFS");
    }

    void testConflict() {
        expect(EISDIR, 409, "EISDIR");
        expect(ENOTDIR, 409, "ENOTDIR");
        expect(ENOTEMPTY, 409, "ENOTEMPTY");
        expect(EEXIST, 409, "EEXIST");
    }

    void testInsufficientStorage() {
        expect(ENOSPC, 507, "ENOSPC");
        expect(EDQUOT, 507, "EDQUOT");
    }

    void testBeyondTheIssuesTable() {
        expect(ELOOP, 403, "ELOOP");
        expect(EXDEV, 403, "EXDEV");
        expect(ENAMETOOLONG, 414, "ENAMETOOLONG");
        expect(EFBIG, 413, "EFBIG");
    }

    void testOthersAre500WithTheirName() {
        expect(EIO, 500, "EIO");
        expect(EMFILE, 500, "EMFILE");
        expect(EBUSY, 500, "EBUSY");
        expect(EINVAL, 500, "EINVAL");
        expect(0, 500, "EUNKNOWN");
        expect(9999, 500, "EUNKNOWN");
    }

    void testNegativeErrno() {
        // The fs code passes -errno around (openat2 results): same entry.
        expect(-ENOENT, 404, "ENOENT");
        expect(-ENOTEMPTY, 409, "ENOTEMPTY");
        expect(-EIO, 500, "EIO");
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ErrnoTest);
