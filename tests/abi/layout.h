/* One entry per struct (field == NULL) or member, as compiled against one copy of abi.h. */
#ifndef KEEL_ABI_LAYOUT_H
#define KEEL_ABI_LAYOUT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct keel_layout_entry {
  const char* type;
  const char* field;
  size_t offset;
  size_t size;
} keel_layout_entry;

extern const keel_layout_entry keel_layout_frozen[];
extern const size_t keel_layout_frozen_count;
extern const int keel_layout_frozen_abi[2];
extern const keel_layout_entry keel_layout_current[];
extern const size_t keel_layout_current_count;
extern const int keel_layout_current_abi[2];

#ifdef __cplusplus
}
#endif

#endif
