# nngen_network.cmake - build-tree helpers that turn a .nn file into C.
#
# nngen_generate(OUT_C <var> NN <file.nn> NAME <base> [FLAGS ...])
#   runs nngen at build time: ${CMAKE_CURRENT_BINARY_DIR}/<base>.c and .h,
#   regenerated whenever the .nn file or nngen changes.
function(nngen_generate)
  cmake_parse_arguments(G "" "OUT_C;NN;NAME" "FLAGS" ${ARGN})
  set(c ${CMAKE_CURRENT_BINARY_DIR}/${G_NAME}.c)
  set(h ${CMAKE_CURRENT_BINARY_DIR}/${G_NAME}.h)
  add_custom_command(OUTPUT ${c} ${h}
    COMMAND $<TARGET_FILE:nngen> ${G_FLAGS} ${G_NN} -o ${c}
    DEPENDS nngen ${G_NN}
    COMMENT "nngen ${G_NN} -> ${G_NAME}.c")
  set(${G_OUT_C} ${c} PARENT_SCOPE)
endfunction()
