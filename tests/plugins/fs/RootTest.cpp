// keel_fs::safeRelative and keel_fs::Root on a real directory tree: a root with a secret file
// right outside it, symlinks pointing out of it and inside it.
#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "Root.hpp"

namespace {

namespace stdfs = std::filesystem;
using keel_fs::Dotfiles;
using keel_fs::safeRelative;

std::string readFd(int fd) {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
}

} // namespace

class RootTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RootTest);
    CPPUNIT_TEST(testPlainPaths);
    CPPUNIT_TEST(testDotSegments);
    CPPUNIT_TEST(testControlAndBackslash);
    CPPUNIT_TEST(testUtf8);
    CPPUNIT_TEST(testDotfilesPolicy);
    CPPUNIT_TEST(testTempFiles);
    CPPUNIT_TEST(testOpenInside);
    CPPUNIT_TEST(testSymlinkOutIsNotFound);
    CPPUNIT_TEST(testSymlinkInsideIsFine);
    CPPUNIT_TEST(testFollowSymlinks);
    CPPUNIT_TEST(testOpenParent);
    CPPUNIT_TEST(testOpenErrors);
    CPPUNIT_TEST(testRelativeLinksResolveWhereTheyAre);
    CPPUNIT_TEST(testLinkLoopsStop);
    CPPUNIT_TEST(testCreate);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        char pattern[] = "/tmp/keel-fs-root-XXXXXX";
        base_ = ::mkdtemp(pattern);
        stdfs::create_directories(base_ + "/root/sub");
        std::ofstream(base_ + "/secret.txt") << "SECRET";
        std::ofstream(base_ + "/root/a.txt") << "A";
        std::ofstream(base_ + "/root/sub/b.txt") << "B";
        stdfs::create_symlink(base_ + "/secret.txt", base_ + "/root/out-abs");
        stdfs::create_symlink("../secret.txt", base_ + "/root/out-rel");
        stdfs::create_symlink(base_, base_ + "/root/out-dir");
        stdfs::create_symlink("sub/b.txt", base_ + "/root/in-link");
        root_ = keel_fs::Root::open(base_ + "/root", false);
    }
    void tearDown() override {
        root_.reset();
        stdfs::remove_all(base_);
    }

    void testPlainPaths() {
        CPPUNIT_ASSERT_EQUAL(std::string("a.txt"), safeRelative("/a.txt", Dotfiles::ignore).rel);
        CPPUNIT_ASSERT_EQUAL(0, safeRelative("/a.txt", Dotfiles::ignore).status);
        CPPUNIT_ASSERT_EQUAL(std::string("sub/b.txt"),
                             safeRelative("sub//b.txt", Dotfiles::ignore).rel);
        CPPUNIT_ASSERT_EQUAL(std::string("sub"), safeRelative("/sub/", Dotfiles::ignore).rel);
        CPPUNIT_ASSERT_EQUAL(std::string(""), safeRelative("/", Dotfiles::ignore).rel);
        CPPUNIT_ASSERT_EQUAL(0, safeRelative("", Dotfiles::ignore).status);
        // Not decoded a second time: a literal name, harmless beneath the root.
        CPPUNIT_ASSERT_EQUAL(std::string("%2e%2e/secret.txt"),
                             safeRelative("/%2e%2e/secret.txt", Dotfiles::ignore).rel);
        CPPUNIT_ASSERT_EQUAL(std::string("caf\xc3\xa9 \xe2\x82\xac.txt"),
                             safeRelative("/caf\xc3\xa9 \xe2\x82\xac.txt", Dotfiles::ignore).rel);
        CPPUNIT_ASSERT_EQUAL(std::string("a..b/c."), safeRelative("a..b/c.", Dotfiles::allow).rel);
    }

    void testDotSegments() {
        for (const char* p : {"/../secret.txt", "..", "/sub/../../secret.txt", "/sub/..",
                              "/./a.txt", "/sub/.", "../", "/a.txt/.."}) {
            const auto r = safeRelative(p, Dotfiles::allow);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(p, 404, r.status);
            CPPUNIT_ASSERT_MESSAGE(p, r.rel.empty());
        }
        // A dotfile segment before a ".." is still a 404, whatever the policy.
        CPPUNIT_ASSERT_EQUAL(404, safeRelative("/.git/../../x", Dotfiles::deny).status);
    }

    void testControlAndBackslash() {
        for (std::string p :
             {std::string("/a\\..\\..\\secret.txt"), std::string("/sub\\b.txt"),
              std::string("/a\x01.txt"), std::string("/a\n.txt"), std::string("/a\x7f"),
              std::string("/a.txt\0", 7), std::string("/\t")}) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(p, 404, safeRelative(p, Dotfiles::allow).status);
        }
    }

    void testUtf8() {
        // Overlong encodings of '.', '/' and '\\', surrogates, beyond U+10FFFF, truncated.
        for (const char* p :
             {"/\xc0\xae\xc0\xae/secret.txt", "/\xc0\xaf", "/\xc1\x9c", "/\xe0\x80\xae",
              "/\xf0\x80\x80\xae", "/\xed\xa0\x80", "/\xf4\x90\x80\x80", "/\xf5\x80\x80\x80",
              "/caf\xc3", "/\x80", "/\xff"}) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(p, 404, safeRelative(p, Dotfiles::allow).status);
        }
        CPPUNIT_ASSERT_EQUAL(0, safeRelative("/\xf0\x9f\x98\x80", Dotfiles::ignore).status);
        CPPUNIT_ASSERT_EQUAL(0, safeRelative("/\xef\xbf\xbd", Dotfiles::ignore).status);
    }

    void testDotfilesPolicy() {
        CPPUNIT_ASSERT_EQUAL(403, safeRelative("/.env", Dotfiles::deny).status);
        CPPUNIT_ASSERT_EQUAL(404, safeRelative("/.env", Dotfiles::ignore).status);
        CPPUNIT_ASSERT_EQUAL(0, safeRelative("/.env", Dotfiles::allow).status);
        CPPUNIT_ASSERT_EQUAL(403, safeRelative("/.git/config", Dotfiles::deny).status);
        CPPUNIT_ASSERT_EQUAL(404, safeRelative("/sub/.hidden", Dotfiles::ignore).status);
        CPPUNIT_ASSERT_EQUAL(std::string(".well-known/x"),
                             safeRelative("/.well-known/x", Dotfiles::allow).rel);
    }

    void testTempFiles() {
        for (Dotfiles d : {Dotfiles::allow, Dotfiles::deny, Dotfiles::ignore}) {
            CPPUNIT_ASSERT_EQUAL(404, safeRelative("/.keel-tmp-abc123", d).status);
            CPPUNIT_ASSERT_EQUAL(404, safeRelative("/sub/.keel-tmp-x", d).status);
        }
        CPPUNIT_ASSERT(keel_fs::isTempName(".keel-tmp-1"));
        CPPUNIT_ASSERT(!keel_fs::isTempName("keel-tmp-1"));
    }

    void testOpenInside() {
        CPPUNIT_ASSERT_EQUAL(stdfs::path(base_ + "/root").lexically_normal().string(),
                             root_->path());
        CPPUNIT_ASSERT_EQUAL(std::string("A"), readFd(root_->openBeneath("a.txt", O_RDONLY)));
        CPPUNIT_ASSERT_EQUAL(std::string("B"), readFd(root_->openBeneath("sub/b.txt", O_RDONLY)));
        const int dir = root_->openBeneath("", O_RDONLY | O_DIRECTORY);
        CPPUNIT_ASSERT(dir >= 0);
        struct stat st {};
        CPPUNIT_ASSERT_EQUAL(0, ::fstat(dir, &st));
        CPPUNIT_ASSERT(S_ISDIR(st.st_mode));
        ::close(dir);
    }

    void testSymlinkOutIsNotFound() {
        for (const char* p : {"out-abs", "out-rel", "out-dir/secret.txt"})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(p, -ENOENT, root_->openBeneath(p, O_RDONLY));
        // Even a path that slipped past the lexical checks cannot climb out.
        CPPUNIT_ASSERT_EQUAL(-ENOENT, root_->openBeneath("../secret.txt", O_RDONLY));
        CPPUNIT_ASSERT_EQUAL(-ENOENT, root_->openBeneath("sub/../../secret.txt", O_RDONLY));
        CPPUNIT_ASSERT_EQUAL(-ENOENT, root_->openBeneath("/etc/passwd", O_RDONLY));
        // Magic links (/proc/self/fd/N) are refused even when following symlinks.
        const int outside = ::open((base_ + "/secret.txt").c_str(), O_RDONLY | O_CLOEXEC);
        stdfs::create_symlink("/proc/self/fd/" + std::to_string(outside), base_ + "/root/magic");
        CPPUNIT_ASSERT(root_->openBeneath("magic", O_RDONLY, 0, true) < 0);
        ::close(outside);
    }

    void testSymlinkInsideIsFine() {
        CPPUNIT_ASSERT_EQUAL(std::string("B"), readFd(root_->openBeneath("in-link", O_RDONLY)));
    }

    void testFollowSymlinks() {
        CPPUNIT_ASSERT_EQUAL(std::string("SECRET"),
                             readFd(root_->openBeneath("out-abs", O_RDONLY, 0, true)));
        CPPUNIT_ASSERT_EQUAL(std::string("SECRET"),
                             readFd(root_->openBeneath("out-dir/secret.txt", O_RDONLY, 0, true)));
    }

    void testOpenParent() {
        std::string leaf;
        int dir = root_->openParent("sub/new.txt", &leaf);
        CPPUNIT_ASSERT(dir >= 0);
        CPPUNIT_ASSERT_EQUAL(std::string("new.txt"), leaf);
        CPPUNIT_ASSERT_EQUAL(0, ::mkdirat(dir, leaf.c_str(), 0755) == 0 ? 0 : errno);
        ::close(dir);
        CPPUNIT_ASSERT(stdfs::is_directory(base_ + "/root/sub/new.txt"));
        dir = root_->openParent("top.txt", &leaf);
        CPPUNIT_ASSERT(dir >= 0);
        CPPUNIT_ASSERT_EQUAL(std::string("top.txt"), leaf);
        ::close(dir);
        CPPUNIT_ASSERT_EQUAL(-EINVAL, root_->openParent("", &leaf));
        CPPUNIT_ASSERT_EQUAL(-ENOENT, root_->openParent("out-dir/x", &leaf));
        CPPUNIT_ASSERT_EQUAL(-ENOENT, root_->openParent("missing/x", &leaf));
    }

    void testOpenErrors() {
        CPPUNIT_ASSERT_EQUAL(-ENOENT, root_->openBeneath("missing.txt", O_RDONLY));
        CPPUNIT_ASSERT_EQUAL(-ENOTDIR, root_->openBeneath("a.txt/x", O_RDONLY));
        try {
            keel_fs::Root::open(base_ + "/nope", false);
            CPPUNIT_FAIL("a missing root opened");
        } catch (const std::runtime_error& e) {
            const std::string what = e.what();
            CPPUNIT_ASSERT_MESSAGE(what, what.find(base_ + "/nope") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(what, what.find("No such file") != std::string::npos);
        }
        CPPUNIT_ASSERT_THROW(keel_fs::Root::open(base_ + "/root/a.txt", false), std::runtime_error);
        auto made = keel_fs::Root::open(base_ + "/made/deep", true);
        CPPUNIT_ASSERT(stdfs::is_directory(base_ + "/made/deep"));
    }

    void testRelativeLinksResolveWhereTheyAre() {
        stdfs::create_symlink("../a.txt", base_ + "/root/sub/up");
        stdfs::create_symlink("../../secret.txt", base_ + "/root/sub/up-out");
        stdfs::create_symlink("sub", base_ + "/root/sub-link");
        stdfs::create_symlink("in-link", base_ + "/root/chain");
        CPPUNIT_ASSERT_EQUAL(std::string("A"), readFd(root_->openBeneath("sub/up", O_RDONLY)));
        CPPUNIT_ASSERT_EQUAL(-ENOENT, root_->openBeneath("sub/up-out", O_RDONLY));
        CPPUNIT_ASSERT_EQUAL(std::string("B"), readFd(root_->openBeneath("sub-link/b.txt", O_RDONLY)));
        CPPUNIT_ASSERT_EQUAL(std::string("A"), readFd(root_->openBeneath("sub-link/up", O_RDONLY)));
        CPPUNIT_ASSERT_EQUAL(std::string("B"), readFd(root_->openBeneath("chain", O_RDONLY)));
        std::string leaf;
        const int dir = root_->openParent("sub-link/new.txt", &leaf);
        CPPUNIT_ASSERT(dir >= 0);
        struct stat st {};
        CPPUNIT_ASSERT_EQUAL(0, ::fstatat(dir, "b.txt", &st, 0));
        ::close(dir);
    }

    void testLinkLoopsStop() {
        stdfs::create_symlink("loop-b", base_ + "/root/loop-a");
        stdfs::create_symlink("loop-a", base_ + "/root/loop-b");
        CPPUNIT_ASSERT_EQUAL(-ELOOP, root_->openBeneath("loop-a", O_RDONLY));
        CPPUNIT_ASSERT_EQUAL(-ELOOP, root_->openBeneath("loop-a", O_RDONLY, 0, true));
    }

    void testCreate() {
        const int fd = root_->openBeneath("sub/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0600);
        CPPUNIT_ASSERT(fd >= 0);
        ::close(fd);
        CPPUNIT_ASSERT(stdfs::is_regular_file(base_ + "/root/sub/new.txt"));
        CPPUNIT_ASSERT_EQUAL(-EEXIST, root_->openBeneath("sub/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0600));
        // O_CREAT follows a dangling symlink that stays inside; O_EXCL never follows one.
        stdfs::create_symlink("sub/made.txt", base_ + "/root/dangling");
        CPPUNIT_ASSERT_EQUAL(-EEXIST, root_->openBeneath("dangling", O_WRONLY | O_CREAT | O_EXCL, 0600));
        const int made = root_->openBeneath("dangling", O_WRONLY | O_CREAT, 0600);
        CPPUNIT_ASSERT(made >= 0);
        ::close(made);
        CPPUNIT_ASSERT(stdfs::is_regular_file(base_ + "/root/sub/made.txt"));
        // Nor out of the root.
        stdfs::create_symlink("../outside-new.txt", base_ + "/root/dangling-out");
        CPPUNIT_ASSERT_EQUAL(-ENOENT, root_->openBeneath("dangling-out", O_WRONLY | O_CREAT, 0600));
        CPPUNIT_ASSERT(!stdfs::exists(base_ + "/outside-new.txt"));
    }

protected:
    std::string base_;
    keel_fs::RootPtr root_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(RootTest);

// Every test above again, with each path walked one segment at a time, as where openat2 is
// missing (Linux before 5.6) or refused (a seccomp filter, valgrind): the same answers.
class RootWalkTest : public RootTest {
    CPPUNIT_TEST_SUB_SUITE(RootWalkTest, RootTest);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        keel_fs::Root::useOpenat2ForTesting(false);
        RootTest::setUp();
    }
    void tearDown() override {
        RootTest::tearDown();
        keel_fs::Root::useOpenat2ForTesting(true);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RootWalkTest);
