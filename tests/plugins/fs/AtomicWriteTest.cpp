// keel_fs::AtomicWrite and cleanLeftovers on a real directory: new files and replacements,
// modes, failures that must leave no temporary file, and a cleanup that removes a dead
// writer's file but not a live one's.
#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "AtomicWrite.hpp"
#include "Root.hpp"

namespace {

namespace stdfs = std::filesystem;
using keel_fs::AtomicWrite;
using keel_fs::AtomicWritePtr;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

int tempFiles(const std::string& dir) {
    int n = 0;
    for (const auto& e : stdfs::recursive_directory_iterator(dir))
        if (keel_fs::isTempName(e.path().filename().string())) ++n;
    return n;
}

mode_t modeOf(const std::string& path) {
    struct stat st {};
    CPPUNIT_ASSERT_EQUAL(0, ::stat(path.c_str(), &st));
    return st.st_mode & 07777;
}

} // namespace

class AtomicWriteTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AtomicWriteTest);
    CPPUNIT_TEST(testCreateNew);
    CPPUNIT_TEST(testReplaceKeepsOldUntilCommitAndItsMode);
    CPPUNIT_TEST(testDiscardAndDestructorRemoveTheTemp);
    CPPUNIT_TEST(testCommitOverDirectoryFails);
    CPPUNIT_TEST(testBeginInMissingDirectory);
    CPPUNIT_TEST(testCopyFrom);
    CPPUNIT_TEST(testCleanupSkipsLiveWriters);
    CPPUNIT_TEST(testCleanupCountsRegularFiles);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        char pattern[] = "/tmp/keel-fs-atomic-XXXXXX";
        dir_ = ::mkdtemp(pattern);
        dirFd_ = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        CPPUNIT_ASSERT(dirFd_ >= 0);
    }
    void tearDown() override {
        ::close(dirFd_);
        stdfs::remove_all(dir_);
    }

    void testCreateNew() {
        const mode_t oldMask = ::umask(077); // the configured mode wins over the umask
        int err = 1;
        AtomicWritePtr w = AtomicWrite::begin(dirFd_, "new.txt", 0644, &err);
        ::umask(oldMask);
        CPPUNIT_ASSERT_EQUAL(0, err);
        CPPUNIT_ASSERT(w);
        CPPUNIT_ASSERT(w->tempName().starts_with(".keel-tmp-"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(26), w->tempName().size()); // prefix + 16 hex
        CPPUNIT_ASSERT(stdfs::exists(dir_ + "/" + w->tempName()));
        CPPUNIT_ASSERT(!stdfs::exists(dir_ + "/new.txt"));
        CPPUNIT_ASSERT_EQUAL(0, w->write("hello "));
        CPPUNIT_ASSERT_EQUAL(0, w->write("world"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(11), w->size());
        AtomicWrite::Committed c;
        CPPUNIT_ASSERT_EQUAL(0, w->commit(&c));
        CPPUNIT_ASSERT(c.renamed);
        CPPUNIT_ASSERT(!c.replaced);
        CPPUNIT_ASSERT_EQUAL(std::string("hello world"), slurp(dir_ + "/new.txt"));
        CPPUNIT_ASSERT_EQUAL(mode_t(0644), modeOf(dir_ + "/new.txt"));
        w.reset();
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(dir_));
        CPPUNIT_ASSERT(stdfs::exists(dir_ + "/new.txt")); // the destructor after commit: no-op
    }

    void testReplaceKeepsOldUntilCommitAndItsMode() {
        std::ofstream(dir_ + "/f.txt") << "old content";
        ::chmod((dir_ + "/f.txt").c_str(), 0600);
        int err = 0;
        AtomicWritePtr w = AtomicWrite::begin(dirFd_, "f.txt", 0644, &err);
        CPPUNIT_ASSERT(w);
        CPPUNIT_ASSERT_EQUAL(0, w->write("new"));
        CPPUNIT_ASSERT_EQUAL(std::string("old content"), slurp(dir_ + "/f.txt"));
        AtomicWrite::Committed c;
        CPPUNIT_ASSERT_EQUAL(0, w->commit(&c));
        CPPUNIT_ASSERT(c.replaced);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(11), c.oldSize);
        CPPUNIT_ASSERT_EQUAL(std::string("new"), slurp(dir_ + "/f.txt"));
        CPPUNIT_ASSERT_EQUAL(mode_t(0600), modeOf(dir_ + "/f.txt"));
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(dir_));
        // A second commit is refused: the writer is finished.
        CPPUNIT_ASSERT_EQUAL(-EBADF, w->commit(&c));
    }

    void testDiscardAndDestructorRemoveTheTemp() {
        std::ofstream(dir_ + "/keep.txt") << "keep";
        int err = 0;
        AtomicWritePtr a = AtomicWrite::begin(dirFd_, "keep.txt", 0644, &err);
        AtomicWritePtr b = AtomicWrite::begin(dirFd_, "keep.txt", 0644, &err);
        CPPUNIT_ASSERT(a && b);
        CPPUNIT_ASSERT(a->tempName() != b->tempName());
        CPPUNIT_ASSERT_EQUAL(0, a->write(std::string(100000, 'x')));
        CPPUNIT_ASSERT_EQUAL(2, tempFiles(dir_));
        a->discard();
        a->discard(); // idempotent
        CPPUNIT_ASSERT_EQUAL(1, tempFiles(dir_));
        CPPUNIT_ASSERT_EQUAL(-EBADF, a->write("more"));
        b.reset();
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(dir_));
        CPPUNIT_ASSERT_EQUAL(std::string("keep"), slurp(dir_ + "/keep.txt"));
    }

    void testCommitOverDirectoryFails() {
        stdfs::create_directory(dir_ + "/d");
        int err = 0;
        AtomicWritePtr w = AtomicWrite::begin(dirFd_, "d", 0644, &err);
        CPPUNIT_ASSERT(w);
        CPPUNIT_ASSERT_EQUAL(0, w->write("x"));
        AtomicWrite::Committed c;
        CPPUNIT_ASSERT_EQUAL(-EISDIR, w->commit(&c));
        CPPUNIT_ASSERT(!c.renamed);
        CPPUNIT_ASSERT(stdfs::is_directory(dir_ + "/d"));
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(dir_));
    }

    void testBeginInMissingDirectory() {
        stdfs::create_directory(dir_ + "/gone");
        const int gone = ::open((dir_ + "/gone").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        stdfs::remove(dir_ + "/gone");
        int err = 0;
        AtomicWritePtr w = AtomicWrite::begin(gone, "x", 0644, &err);
        ::close(gone);
        CPPUNIT_ASSERT(!w);
        CPPUNIT_ASSERT_EQUAL(-ENOENT, err);
    }

    void testCopyFrom() {
        std::string big(3 * 1024 * 1024 + 17, '\0');
        for (std::size_t i = 0; i < big.size(); ++i)
            big[i] = static_cast<char>('a' + i % 26);
        std::ofstream(dir_ + "/src.bin", std::ios::binary) << big;
        const int src = ::open((dir_ + "/src.bin").c_str(), O_RDONLY | O_CLOEXEC);
        int err = 0;
        AtomicWritePtr w = AtomicWrite::begin(dirFd_, "copy.bin", 0644, &err);
        CPPUNIT_ASSERT(w);
        CPPUNIT_ASSERT_EQUAL(0, w->copyFrom(src));
        ::close(src);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(big.size()), w->size());
        AtomicWrite::Committed c;
        CPPUNIT_ASSERT_EQUAL(0, w->commit(&c));
        CPPUNIT_ASSERT(slurp(dir_ + "/copy.bin") == big);
    }

    void testCleanupSkipsLiveWriters() {
        stdfs::create_directories(dir_ + "/a/b");
        // A dead writer's files: nobody holds their lock.
        std::ofstream(dir_ + "/.keel-tmp-0123456789abcdef") << "torn";
        std::ofstream(dir_ + "/a/b/.keel-tmp-dead") << "torn";
        // A live writer in a/.
        const int sub = ::open((dir_ + "/a").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        int err = 0;
        AtomicWritePtr live = AtomicWrite::begin(sub, "f", 0644, &err);
        ::close(sub);
        CPPUNIT_ASSERT(live);
        CPPUNIT_ASSERT_EQUAL(0, live->write("in progress"));
        // Neither a directory nor a symlink named like one is touched.
        stdfs::create_directory(dir_ + "/.keel-tmp-dir");
        stdfs::create_symlink("/etc/hostname", dir_ + "/.keel-tmp-link");

        const keel_fs::TreeScan scan = keel_fs::cleanLeftovers(dirFd_);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), scan.removed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), scan.skipped);
        CPPUNIT_ASSERT(!stdfs::exists(dir_ + "/.keel-tmp-0123456789abcdef"));
        CPPUNIT_ASSERT(!stdfs::exists(dir_ + "/a/b/.keel-tmp-dead"));
        CPPUNIT_ASSERT(stdfs::exists(dir_ + "/a/" + live->tempName()));
        CPPUNIT_ASSERT(stdfs::is_directory(dir_ + "/.keel-tmp-dir"));
        CPPUNIT_ASSERT(stdfs::is_symlink(dir_ + "/.keel-tmp-link"));
        // The live writer still commits.
        AtomicWrite::Committed c;
        CPPUNIT_ASSERT_EQUAL(0, live->commit(&c));
        CPPUNIT_ASSERT_EQUAL(std::string("in progress"), slurp(dir_ + "/a/f"));
    }

    void testCleanupCountsRegularFiles() {
        stdfs::create_directories(dir_ + "/x/y");
        std::ofstream(dir_ + "/one") << std::string(1000, '1');
        std::ofstream(dir_ + "/x/two") << std::string(20, '2');
        std::ofstream(dir_ + "/x/y/three") << std::string(3, '3');
        std::ofstream(dir_ + "/x/.keel-tmp-zzz") << std::string(5000, 't'); // not counted
        stdfs::create_symlink(dir_ + "/one", dir_ + "/x/link");             // not followed
        // A symlink to a directory outside: not walked into.
        char outside[] = "/tmp/keel-fs-outside-XXXXXX";
        const std::string out = ::mkdtemp(outside);
        std::ofstream(out + "/big") << std::string(50000, 'o');
        stdfs::create_symlink(out, dir_ + "/x/out");
        const keel_fs::TreeScan scan = keel_fs::cleanLeftovers(dirFd_);
        stdfs::remove_all(out);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1023), scan.bytes);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), scan.files);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), scan.removed);
        CPPUNIT_ASSERT_EQUAL(0, scan.error);
    }

private:
    std::string dir_;
    int dirFd_ = -1;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AtomicWriteTest);
