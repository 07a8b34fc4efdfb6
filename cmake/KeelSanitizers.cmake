# KEEL_SANITIZE=ON: AddressSanitizer + UndefinedBehaviorSanitizer for everything built here,
# plugins included (a plugin .so and the kernel must share one ASan runtime).
if(KEEL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
