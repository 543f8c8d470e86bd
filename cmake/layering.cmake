# layering.cmake - each compiler library (and the runtime's) linked alone,
# with every object pulled in (--whole-archive) and only the libraries it
# may depend on. A call from a lower layer into a higher one (the front end
# calling the IR, the core calling the command line) leaves an undefined
# symbol: the build fails.
set(_stub ${CMAKE_CURRENT_BINARY_DIR}/layering_main.c)
file(WRITE ${_stub} "int main(void) { return 0; }\n")

function(nngen_layer_check lib)
  add_executable(layering_${lib} ${_stub})
  target_link_libraries(layering_${lib} PRIVATE
    "-Wl,--whole-archive" ${lib} "-Wl,--no-whole-archive" ${ARGN})
endfunction()

if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang" AND NOT APPLE)
  nngen_layer_check(nngen_base)
  nngen_layer_check(nngen_front nngen_base)
  nngen_layer_check(nngen_ir nngen_base)
  nngen_layer_check(nngen_core nngen_front nngen_ir nngen_base nnrt m)
  # the runtime needs libc and libm only; the data loaders not even the
  # runtime (its header alone: the status codes)
  nngen_layer_check(nnrt m)
  nngen_layer_check(nn_data)
endif()
