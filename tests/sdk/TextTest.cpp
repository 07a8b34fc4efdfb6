// Unit tests for keel::equalsIgnoreCase / keel::copyBytes (sdk/include/keel/Text.hpp).
#include <keel/Text.hpp>

#include <cppunit/extensions/HelperMacros.h>

#include <string>

class TextTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TextTest);
    CPPUNIT_TEST(testEqualsIgnoreCase);
    CPPUNIT_TEST(testCopyBytesEveryLengthAndAlignment);
    CPPUNIT_TEST_SUITE_END();

public:
    void testEqualsIgnoreCase() {
        CPPUNIT_ASSERT(keel::equalsIgnoreCase("Content-Length", "content-LENGTH"));
        CPPUNIT_ASSERT(!keel::equalsIgnoreCase("Content-Length", "Content-Lengt"));
        CPPUNIT_ASSERT(!keel::equalsIgnoreCase("a[", "A{")); // '[' + 32 is '{': only letters fold
        CPPUNIT_ASSERT(!keel::equalsIgnoreCase("\xc3\xa9", "\xc3\x89"));
        CPPUNIT_ASSERT(keel::equalsIgnoreCase("", ""));
    }

    // Each length from 0 to 40 (the inline moves end at 16), at each offset of a word: the
    // bytes arrive in order and nothing around the destination is touched.
    void testCopyBytesEveryLengthAndAlignment() {
        std::string source(64, '\0');
        for (std::size_t i = 0; i < source.size(); ++i) source[i] = static_cast<char>('A' + i % 50);
        for (std::size_t n = 0; n <= 40; ++n) {
            for (std::size_t from = 0; from < 8; ++from) {
                for (std::size_t to = 0; to < 8; ++to) {
                    std::string target(64, '.');
                    keel::copyBytes(target.data() + 8 + to, source.data() + from, n);
                    std::string expected(64, '.');
                    expected.replace(8 + to, n, source.substr(from, n));
                    CPPUNIT_ASSERT_EQUAL_MESSAGE("length " + std::to_string(n) + ", offsets " + std::to_string(from) +
                                                     "/" + std::to_string(to),
                                                 expected, target);
                }
            }
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TextTest);
