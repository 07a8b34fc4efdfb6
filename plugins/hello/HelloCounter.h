/* hello.counter@1: the service the hello example plugin provides. Plain C, so that any
 * plugin (or test) can call it through keel_service without linking the plugin. */
#ifndef KEEL_HELLO_COUNTER_H
#define KEEL_HELLO_COUNTER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hello_counter_v1 {
  uint32_t size; /* sizeof(hello_counter_v1) */
  /* Counts one call in this instance and in the library; returns the instance's count. */
  uint64_t (*increment)(void* self);
  /* Calls counted by this instance (each site has its own). */
  uint64_t (*instance_count)(void* self);
  /* Calls counted by every instance in the process (state of the shared library). */
  uint64_t (*library_count)(void* self);
  /* Zeroes the library-wide count: every instance sees it (the seed's counter2.reset()). */
  void (*reset_library)(void* self);
} hello_counter_v1;

#ifdef __cplusplus
}
#endif

#endif
