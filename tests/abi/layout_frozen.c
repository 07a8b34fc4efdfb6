/* The ABI layout as compiled against the frozen header (see layout.inc). */
#include <keel/abi.h>

#include "layout.h"

#define KEEL_STRUCT(T) {#T, NULL, 0, sizeof(T)},
#define KEEL_FIELD(T, F) {#T, #F, offsetof(T, F), sizeof(((T*)0)->F)},
const keel_layout_entry keel_layout_frozen[] = {
#include "layout.inc"
};
const size_t keel_layout_frozen_count = sizeof keel_layout_frozen / sizeof keel_layout_frozen[0];
const int keel_layout_frozen_abi[2] = {KEEL_ABI_MAJOR, KEEL_ABI_MINOR};
