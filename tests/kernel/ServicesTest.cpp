#include <cppunit/extensions/HelperMacros.h>

#include "Services.hpp"

using namespace keel::kernel;

namespace {

struct HasherVtable {
    std::uint32_t size;
    int (*hash)(void* self);
};

int realHash(void*) { return 1; }
int mockHash(void*) { return 42; }

const HasherVtable kReal{sizeof(HasherVtable), &realHash};
const HasherVtable kMock{sizeof(HasherVtable), &mockHash};

int call(const keel_service& s) { return static_cast<const HasherVtable*>(s.vtable)->hash(s.self); }

} // namespace

class ServicesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ServicesTest);
    CPPUNIT_TEST(testProvideAndLookupByMajor);
    CPPUNIT_TEST(testDuplicateNamesTheProvider);
    CPPUNIT_TEST(testSiteRegistryFallsBackToParent);
    CPPUNIT_TEST(testReplaceSwapsInAMock);
    CPPUNIT_TEST(testWithdraw);
    CPPUNIT_TEST_SUITE_END();

public:
    void testProvideAndLookupByMajor() {
        Services services;
        Owner auth{"auth"};
        services.provide("auth.hasher", 1, keel_service{&kReal, nullptr}, &auth);
        CPPUNIT_ASSERT(services.lookup("auth.hasher", 1).has_value());
        CPPUNIT_ASSERT_EQUAL(1, call(*services.lookup("auth.hasher", 1)));
        CPPUNIT_ASSERT(!services.lookup("auth.hasher", 2).has_value());
        CPPUNIT_ASSERT(!services.lookup("auth.hash", 1).has_value());
    }

    void testDuplicateNamesTheProvider() {
        Services services;
        Owner first{"auth"};
        Owner second{"auth2"};
        services.provide("auth.hasher", 1, keel_service{&kReal, nullptr}, &first);
        try {
            services.provide("auth.hasher", 1, keel_service{&kMock, nullptr}, &second);
            CPPUNIT_FAIL("expected ServiceError");
        } catch (const ServiceError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("service auth.hasher@1 is already provided by plugin 'auth'"),
                                 std::string(e.what()));
        }
        services.provide("auth.hasher", 2, keel_service{&kMock, nullptr}, &second); // another major is fine
        CPPUNIT_ASSERT_EQUAL(42, call(*services.lookup("auth.hasher", 2)));
    }

    void testSiteRegistryFallsBackToParent() {
        Services process;
        Services siteA(&process);
        Services siteB(&process);
        process.provide("metrics.registry", 1, keel_service{&kReal, nullptr}, nullptr);
        siteA.provide("auth.hasher", 1, keel_service{&kMock, nullptr}, nullptr);
        CPPUNIT_ASSERT(siteA.lookup("metrics.registry", 1).has_value());
        CPPUNIT_ASSERT(siteA.lookup("auth.hasher", 1).has_value());
        CPPUNIT_ASSERT(!siteB.lookup("auth.hasher", 1).has_value());
    }

    void testReplaceSwapsInAMock() {
        Services services;
        services.provide("auth.hasher", 1, keel_service{&kReal, nullptr}, nullptr);
        services.replace("auth.hasher", 1, keel_service{&kMock, nullptr});
        CPPUNIT_ASSERT_EQUAL(42, call(*services.lookup("auth.hasher", 1)));
    }

    void testWithdraw() {
        Services services;
        Owner a{"a"};
        Owner b{"b"};
        services.provide("x", 1, keel_service{&kReal, nullptr}, &a);
        services.provide("y", 1, keel_service{&kReal, nullptr}, &b);
        services.withdraw(&a);
        CPPUNIT_ASSERT(!services.lookup("x", 1).has_value());
        CPPUNIT_ASSERT(services.lookup("y", 1).has_value());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), services.list().size());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ServicesTest);
