# Warning flags applied per target (never directory-wide): drc_set_warnings(<target>).
function(drc_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-unused-parameter)
endfunction()
