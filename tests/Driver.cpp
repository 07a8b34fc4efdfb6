// The shared CppUnit driver: runs every suite registered in this runner, or the ones named
// on the command line (e.g. `kernel-tests LoopTest LoopTest::testEventLoopRace`).
#include <cppunit/CompilerOutputter.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <iostream>

int main(int argc, char** argv) {
    CppUnit::TestResult controller;
    CppUnit::TestResultCollector result;
    controller.addListener(&result);
    CppUnit::BriefTestProgressListener progress;
    controller.addListener(&progress);

    CppUnit::TestRunner runner;
    runner.addTest(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
    try {
        if (argc <= 1) {
            runner.run(controller);
        } else {
            for (int i = 1; i < argc; ++i) runner.run(controller, argv[i]);
        }
    } catch (const std::exception& e) {
        std::cerr << "test driver: " << e.what() << "\n";
        return 2;
    }
    CppUnit::CompilerOutputter outputter(&result, std::cerr);
    outputter.write();
    std::cout << result.runTests() - result.testFailuresTotal() << " passed, " << result.testFailuresTotal()
              << " failed\n";
    return result.wasSuccessful() ? 0 : 1;
}
