#include "Cli.hpp"

int main(int argc, char** argv) { return keel::kernel::Cli::main(argc, argv); }
