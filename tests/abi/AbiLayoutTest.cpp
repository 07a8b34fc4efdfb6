#include <cppunit/extensions/HelperMacros.h>

#include <cstring>
#include <string>

#include "layout.h"

// Fails when a released ABI struct changes: a member moved or resized, a table shrank, or a
// fixed-size struct grew. Size-prefixed tables (those with a `size` member) may grow at the end.
class AbiLayoutTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AbiLayoutTest);
    CPPUNIT_TEST(testVersionCompatible);
    CPPUNIT_TEST(testLayoutMatchesFrozenRelease);
    CPPUNIT_TEST_SUITE_END();

public:
    void testVersionCompatible() {
        CPPUNIT_ASSERT_EQUAL(keel_layout_frozen_abi[0], keel_layout_current_abi[0]);
        CPPUNIT_ASSERT(keel_layout_current_abi[1] >= keel_layout_frozen_abi[1]);
    }

    void testLayoutMatchesFrozenRelease() {
        CPPUNIT_ASSERT_EQUAL(keel_layout_frozen_count, keel_layout_current_count);
        for (std::size_t i = 0; i < keel_layout_frozen_count; ++i) {
            const keel_layout_entry& was = keel_layout_frozen[i];
            const keel_layout_entry& now = keel_layout_current[i];
            const std::string name = std::string(was.type) + (was.field ? std::string(".") + was.field : "");
            if (was.field != nullptr) {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(name + " moved", was.offset, now.offset);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(name + " changed size", was.size, now.size);
            } else if (growable(was.type)) {
                CPPUNIT_ASSERT_MESSAGE(name + " shrank", now.size >= was.size);
            } else {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(name + " changed size", was.size, now.size);
            }
        }
    }

private:
    static bool growable(const char* type) {
        for (std::size_t i = 0; i < keel_layout_frozen_count; ++i)
            if (std::strcmp(keel_layout_frozen[i].type, type) == 0 && keel_layout_frozen[i].field != nullptr &&
                std::strcmp(keel_layout_frozen[i].field, "size") == 0 && keel_layout_frozen[i].offset == 0)
                return true;
        return false;
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AbiLayoutTest);
