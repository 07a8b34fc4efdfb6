// The site registry transports see (kernel/src/Sites): choosing a site by listener and Host,
// the sites_json description, and staging a site while its plugins start.
#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <string>

#include "Pipeline.hpp"
#include "Sites.hpp"

using namespace keel::kernel;

namespace {

SiteInfo info(const std::string& name, const std::string& address, std::vector<std::string> hosts = {},
              bool isDefault = false) {
    SiteInfo i;
    i.name = name;
    i.dir = "/srv/" + name;
    i.listeners.push_back(SiteListener{address, "127.0.0.1", 8080, "", ""});
    i.hosts = std::move(hosts);
    i.isDefault = isDefault;
    return i;
}

CompiledSitePtr compiled() { return std::make_shared<CompiledSite>(); }

std::string nameOf(const keel_site* site) { return site == nullptr ? "(none)" : site->info.name; }

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

} // namespace

class SitesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SitesTest);
    CPPUNIT_TEST(testHostChoosesTheSite);
    CPPUNIT_TEST(testUnknownHostGoesToTheDefaultUnlessExactOnly);
    CPPUNIT_TEST(testJsonListsNameDirListenersAndMode);
    CPPUNIT_TEST(testStagedSiteIsListedWithAnEmptyPipeline);
    CPPUNIT_TEST(testUnstageForgetsAFailedStartButNotARunningSite);
    CPPUNIT_TEST(testRetiredSiteIsGone);
    CPPUNIT_TEST_SUITE_END();

public:
    void testHostChoosesTheSite() {
        Sites sites;
        sites.put(info("exact", "127.0.0.1:8080", {"shop.example.com"}), compiled());
        sites.put(info("wild", "127.0.0.1:8080", {"*.example.com"}), compiled());
        sites.put(info("longer", "127.0.0.1:8080", {"*.eu.example.com"}), compiled());
        sites.put(info("any", "127.0.0.1:8080"), compiled());
        CPPUNIT_ASSERT_EQUAL(std::string("exact"), nameOf(sites.siteFor("127.0.0.1:8080", "Shop.Example.COM.:8080", false)));
        CPPUNIT_ASSERT_EQUAL(std::string("wild"), nameOf(sites.siteFor("127.0.0.1:8080", "a.b.example.com", false)));
        CPPUNIT_ASSERT_EQUAL(std::string("longer"), nameOf(sites.siteFor("127.0.0.1:8080", "x.eu.example.com", false)));
        // "*.example.com" does not match the bare domain: the site without host names takes it.
        CPPUNIT_ASSERT_EQUAL(std::string("any"), nameOf(sites.siteFor("127.0.0.1:8080", "example.com", true)));
        CPPUNIT_ASSERT_EQUAL(std::string("(none)"), nameOf(sites.siteFor("127.0.0.1:9999", "shop.example.com", false)));
    }

    void testUnknownHostGoesToTheDefaultUnlessExactOnly() {
        Sites sites;
        sites.put(info("first", "[::1]:8443", {"a.test"}), compiled());
        sites.put(info("main", "[::1]:8443", {"b.test"}, true), compiled());
        CPPUNIT_ASSERT_EQUAL(std::string("main"), nameOf(sites.siteFor("[::1]:8443", "other.test", false)));
        CPPUNIT_ASSERT_EQUAL(std::string("(none)"), nameOf(sites.siteFor("[::1]:8443", "other.test", true)));
        CPPUNIT_ASSERT_EQUAL(std::string("first"), nameOf(sites.siteFor("[::1]:8443", "a.test", true)));
    }

    void testJsonListsNameDirListenersAndMode() {
        Sites sites;
        SiteInfo demo = info("demo", "0.0.0.0:8080", {"demo.test"}, true);
        demo.development = true;
        demo.listeners.push_back(SiteListener{"[::]:8443", "::", 8443, "/srv/demo/tls/cert.pem", "/srv/demo/tls/key.pem"});
        sites.put(demo, compiled());
        const std::string json = sites.json();
        CPPUNIT_ASSERT_MESSAGE(json, has(json, R"("name":"demo","dir":"/srv/demo","listeners":[)"));
        CPPUNIT_ASSERT_MESSAGE(json, has(json, R"({"address":"0.0.0.0:8080","host":"127.0.0.1","port":8080})"));
        CPPUNIT_ASSERT_MESSAGE(json, has(json, R"("tls":{"cert":"/srv/demo/tls/cert.pem","key":"/srv/demo/tls/key.pem"})"));
        CPPUNIT_ASSERT_MESSAGE(json, has(json, R"("hosts":["demo.test"],"default":true,"mode":"development")"));
    }

    void testStagedSiteIsListedWithAnEmptyPipeline() {
        Sites sites;
        sites.stage(info("starting", "127.0.0.1:8080", {}, true));
        CPPUNIT_ASSERT(has(sites.json(), R"("name":"starting")"));
        CPPUNIT_ASSERT(sites.find("starting") != nullptr);
        // Listed so a transport can open its listeners and find their default site, with an
        // empty pipeline (a request would get 404) until the compiled site is put.
        const keel_site* staged = sites.siteFor("127.0.0.1:8080", "x", false);
        CPPUNIT_ASSERT_EQUAL(std::string("starting"), nameOf(staged));
        CPPUNIT_ASSERT(staged->current != nullptr && staged->current->routes.empty());
        const CompiledSitePtr real = compiled();
        sites.put(info("starting", "127.0.0.1:8080", {}, true), real);
        CPPUNIT_ASSERT(sites.siteFor("127.0.0.1:8080", "x", false) == staged);
        CPPUNIT_ASSERT(staged->current == real);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), sites.all().size());
    }

    void testUnstageForgetsAFailedStartButNotARunningSite() {
        Sites sites;
        const keel_site* running = sites.put(info("running", "127.0.0.1:8080"), compiled());
        sites.stage(info("running", "127.0.0.1:9090")); // a reload: the running site stays as it is
        CPPUNIT_ASSERT(!has(sites.json(), "9090"));
        sites.unstage("running");
        CPPUNIT_ASSERT_EQUAL(running, static_cast<const keel_site*>(sites.find("running")));
        CPPUNIT_ASSERT_EQUAL(std::string("running"), nameOf(sites.siteFor("127.0.0.1:8080", "", false)));

        sites.stage(info("broken", "127.0.0.1:7070"));
        sites.unstage("broken");
        CPPUNIT_ASSERT(sites.find("broken") == nullptr);
        CPPUNIT_ASSERT(!has(sites.json(), "broken"));
        CPPUNIT_ASSERT(!has(sites.json(), "7070"));
    }

    void testRetiredSiteIsGone() {
        Sites sites;
        sites.put(info("old", "127.0.0.1:8080"), compiled());
        sites.retire("old");
        CPPUNIT_ASSERT(sites.find("old") == nullptr);
        CPPUNIT_ASSERT_EQUAL(std::string("[]"), sites.json());
        CPPUNIT_ASSERT_EQUAL(std::string("(none)"), nameOf(sites.siteFor("127.0.0.1:8080", "", false)));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SitesTest);
