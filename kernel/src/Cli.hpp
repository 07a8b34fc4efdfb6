#pragma once

namespace keel::kernel {

/// `keel`'s command line: built-in commands (run, plugins, version, help) and the
/// subcommands plugins contribute through their manifests. Exit codes: 0 success, 1 failure,
/// 2 usage error (unknown command or option: one line, then the usage).
class Cli {
public:
    static int main(int argc, char** argv);
};

} // namespace keel::kernel
