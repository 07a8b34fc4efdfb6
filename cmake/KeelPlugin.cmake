# keel_add_plugin(NAME SOURCES... [C])
# Builds plugins/<name> as a loadable module at lib/keel/plugins/keel_<name>.so against the SDK
# only. Symbols are hidden except the one entry point the SDK exports (keel_plugin_entry).
function(keel_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR" "SOURCES;LIBRARIES" ${ARGN})
  set(target "keel_plugin_${name}")
  add_library(${target} MODULE ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${target} PRIVATE keel_sdk keel_warnings ${ARG_LIBRARIES})
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR "${KEEL_PLUGIN_OUTPUT_DIR}")
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "keel_${name}"
    LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIR}"
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  # A plugin must resolve every symbol at link time: the kernel exports nothing to plugins.
  target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,-z,defs)
endfunction()
