# Warnings for every Keel target. The kernel and plugins must build clean with these.
add_library(keel_warnings INTERFACE)
target_compile_options(keel_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wformat=2>
  $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wstrict-prototypes>)
