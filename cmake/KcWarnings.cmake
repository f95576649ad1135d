# Warnings and sanitizers for every kc target (compile flags are global on purpose:
# generated code, tests and tools are held to the same standard).
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                    -Wno-unused-parameter -fno-strict-aliasing)
add_compile_definitions(_GNU_SOURCE)
if(KC_WERROR)
  add_compile_options(-Werror)
endif()
if(KC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
