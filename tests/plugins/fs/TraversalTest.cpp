// The traversal battery: raw requests that try to reach a secret file right outside the
// root (and one in a sibling directory whose name starts like the root's), through dot
// segments in every encoding, backslashes, NUL, overlong UTF-8, symlinks pointing out,
// dotfiles and the file API's temporary files. Each must answer 400, 403 or 404, never the
// file. Positive controls show the same requests can succeed where they should.
#include <cppunit/extensions/HelperMacros.h>

#include <filesystem>
#include <string>

#include "FsHarness.hpp"

using keel::test::fetch;
using keel::test::fsSite;
using keel::test::RawClient;
using keel::test::Reply;
using keel::test::SiteHarness;
using keel::test::staticRoute;
using keel::test::Tree;

class TraversalTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TraversalTest);
    CPPUNIT_TEST(testBattery);
    CPPUNIT_TEST(testBatteryWithListingAndDotfilesAllowed);
    CPPUNIT_TEST(testSymlinks);
    CPPUNIT_TEST(testFollowSymlinks);
    CPPUNIT_TEST(testDotfiles);
    CPPUNIT_TEST(testTemporaryFiles);
    CPPUNIT_TEST(testPrefixRoute);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        tree_ = std::make_unique<Tree>();
        Tree::writeAt(tree_->base + "/secret.txt", "SECRET-OUTSIDE");
        Tree::writeAt(tree_->base + "/public2/secret.txt", "SECRET-SIBLING");
        tree_->write("hello.txt", "Hello World!");
        tree_->write("sub/inner.txt", "inner");
        tree_->write(".env", "DOTFILE-SECRET");
        tree_->write(".git/config", "DOTFILE-SECRET");
        tree_->write(".keel-tmp-abc123", "TEMP-SECRET");
        namespace stdfs = std::filesystem;
        stdfs::create_symlink(tree_->base + "/secret.txt", tree_->root + "/out-abs");
        stdfs::create_symlink("../secret.txt", tree_->root + "/out-rel");
        stdfs::create_symlink(tree_->base, tree_->root + "/out-dir");
        stdfs::create_symlink("sub/inner.txt", tree_->root + "/in-link");
        stdfs::create_symlink("/etc", tree_->root + "/etc-link");
    }
    void tearDown() override { tree_.reset(); }

    /// Sends `target` raw and checks that no secret came back.
    static void refused(SiteHarness& h, const std::string& target,
                        const std::string& headers = "") {
        RawClient c(h, h.port());
        c.send("GET " + target + " HTTP/1.1\r\nHost: test\r\n" + headers +
               "Connection: close\r\n\r\n");
        const Reply r = c.reply(10000);
        const std::string what = "GET " + target + " -> " + std::to_string(r.status) + " " + r.body;
        CPPUNIT_ASSERT_MESSAGE(what, r.status == 400 || r.status == 403 || r.status == 404);
        CPPUNIT_ASSERT_MESSAGE(what, c.received().find("SECRET") == std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(what, r.raw.find("SECRET") == std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(what, r.raw.find("root:") == std::string::npos); // /etc/passwd
    }

    static void battery(SiteHarness& h) {
        const char* targets[] = {
            "/../secret.txt",
            "/../../../../../../etc/passwd",
            "/sub/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E/secret.txt",
            "/.%2e/secret.txt",
            "/%2e./secret.txt",
            "/%2e%2e%2fsecret.txt",
            "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/sub%2f..%2f..%2fsecret.txt",
            "/%252e%252e/secret.txt",
            "/%252e%252e%252fsecret.txt",
            "/%25252e%25252e/secret.txt",
            "/..%5csecret.txt",
            "/%5c..%5csecret.txt",
            "/sub%5c..%5c..%5csecret.txt",
            "/..%255csecret.txt",
            "/%00../secret.txt",
            "/hello.txt%00.png",
            "/..%00/secret.txt",
            "/%c0%ae%c0%ae/secret.txt",
            "/%c0%ae%c0%ae%c0%afsecret.txt",
            "/%c0%2e%c0%2e/secret.txt",
            "/%e0%80%ae%e0%80%ae/secret.txt",
            "/%f0%80%80%ae%f0%80%80%ae/secret.txt",
            "/%c1%9c..%c1%9csecret.txt",
            "/..%c0%afsecret.txt",
            "/%ed%a0%80/secret.txt",
            "/../public2/secret.txt",
            "/%2e%2e/public2/secret.txt",
            "/./../secret.txt",
            "/.../secret.txt",
            "/....//secret.txt",
            "/out-abs",
            "/out-rel",
            "/out-dir/secret.txt",
            "/out-dir/public2/secret.txt",
            "/out-dir/",
            "/out-dir",
            "/etc-link/passwd",
            "/etc-link/",
            "/.env",
            "/.git/config",
            "/%2eenv",
            "/.keel-tmp-abc123",
            "/%2ekeel-tmp-abc123",
            "/sub/%0a../../secret.txt",
            "/%01",
            "http://test/../secret.txt",
            "http://test/%2e%2e/secret.txt",
        };
        for (const char* target : targets)
            refused(h, target);
        // Backslashes sent raw, if the parser lets them through at all.
        refused(h, "/..\\secret.txt");
        refused(h, "/sub\\..\\..\\secret.txt");
        // The same server still serves what it should.
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        CPPUNIT_ASSERT_EQUAL(std::string("inner"), fetch(h, "/in-link").body);
        CPPUNIT_ASSERT_EQUAL(std::string("inner"), fetch(h, "/sub/inner.txt").body);
    }

    void testBattery() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        battery(h);
    }

    void testBatteryWithListingAndDotfilesAllowed() {
        // Even the most permissive settings (but follow_symlinks) keep the root closed.
        // (One site at a time: the http plugin's server is per process.)
        {
            SiteHarness h({fsSite(staticRoute(tree_->root, R"(, "listing": true)"))});
            battery(h);
        }
        SiteHarness dots(
            {fsSite(staticRoute(tree_->root, R"(, "listing": true, "dotfiles": "deny")"))});
        battery(dots);
    }

    void testSymlinks() {
        SiteHarness h({fsSite(staticRoute(tree_->root, R"(, "listing": "json")"))});
        for (const char* t :
             {"/out-abs", "/out-rel", "/out-dir/secret.txt", "/out-dir/", "/etc-link/passwd"}) {
            const Reply r = fetch(h, t);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(t, 404, r.status);
        }
        // The listing of the root shows the links' names only; their targets stay closed.
        const Reply list = fetch(h, "/");
        CPPUNIT_ASSERT(list.body.find("\"out-abs\",\"type\":\"symlink\"") != std::string::npos);
        CPPUNIT_ASSERT(list.body.find("SECRET") == std::string::npos);
    }

    void testFollowSymlinks() {
        // The positive control: with follow_symlinks the same requests reach the targets,
        // so the battery above would see a leak if there were one.
        SiteHarness h({fsSite(staticRoute(tree_->root, R"(, "follow_symlinks": true)"))});
        CPPUNIT_ASSERT_EQUAL(std::string("SECRET-OUTSIDE"), fetch(h, "/out-abs").body);
        CPPUNIT_ASSERT_EQUAL(std::string("SECRET-OUTSIDE"), fetch(h, "/out-dir/secret.txt").body);
        // But never by dot segments.
        refused(h, "/../secret.txt");
        refused(h, "/%2e%2e/secret.txt");
        refused(h, "/out-dir/../secret.txt");
    }

    void testDotfiles() {
        {
            SiteHarness ignore({fsSite(staticRoute(tree_->root))});
            CPPUNIT_ASSERT_EQUAL(404, fetch(ignore, "/.env").status);
            CPPUNIT_ASSERT_EQUAL(404, fetch(ignore, "/.git/config").status);
        }
        {
            SiteHarness deny({fsSite(staticRoute(tree_->root, R"(, "dotfiles": "deny")"))});
            Reply r = fetch(deny, "/.env");
            CPPUNIT_ASSERT_EQUAL(403, r.status);
            CPPUNIT_ASSERT(r.body.find("\"FORBIDDEN\"") != std::string::npos);
            CPPUNIT_ASSERT_EQUAL(403, fetch(deny, "/.git/config").status);
        }
        SiteHarness allow({fsSite(staticRoute(tree_->root, R"(, "dotfiles": "allow")"))});
        CPPUNIT_ASSERT_EQUAL(std::string("DOTFILE-SECRET"), fetch(allow, "/.env").body);
        CPPUNIT_ASSERT_EQUAL(std::string("DOTFILE-SECRET"), fetch(allow, "/.git/config").body);
        refused(allow, "/../secret.txt");
    }

    void testTemporaryFiles() {
        SiteHarness allow(
            {fsSite(staticRoute(tree_->root, R"(, "dotfiles": "allow", "listing": "json")"))});
        refused(allow, "/.keel-tmp-abc123");
        CPPUNIT_ASSERT(fetch(allow, "/").body.find("keel-tmp") == std::string::npos);
    }

    void testPrefixRoute() {
        // A route under a prefix: the wildcard is the file; the prefix cannot be climbed out of.
        SiteHarness h({fsSite(staticRoute(tree_->root, "", "/assets/*"))});
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/assets/hello.txt").body);
        refused(h, "/assets/../secret.txt");
        refused(h, "/assets/%2e%2e/secret.txt");
        refused(h, "/assets/..%2f..%2fsecret.txt");
        refused(h, "/assets/%2e%2e/public2/secret.txt");
    }

private:
    std::unique_ptr<Tree> tree_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(TraversalTest);
