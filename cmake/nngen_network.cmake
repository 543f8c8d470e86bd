# nngen_network.cmake - CMake helpers that turn a .nn file into C: nngen_generate
# (this build tree only: the examples) and nngen_add_network (also installed,
# for projects that use find_package(nngen)).
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

# nngen_add_network(<target> <net.nn> [NAME <base>] [OPTIONS <nngen options>...])
#   the public helper, in this build tree and in projects that find_package(nngen):
#   adds a STATIC library <target> holding the C that nngen generates from
#   <net.nn> (relative paths are from the current source directory) into
#   ${CMAKE_CURRENT_BINARY_DIR}/nngen/<target>/<base>.c and .h (<base>: the .nn
#   file's name without extension, or NAME), regenerated whenever <net.nn> or
#   nngen changes. Linking <target> gives its users the header directory and
#   the runtime (nngen::nnrt), or only libm when OPTIONS has --standalone or
#   --freestanding (the generated C then holds the runtime it needs).
#     nngen_add_network(moons_net moons.nn OPTIONS --max-batch 16)
#     target_link_libraries(app PRIVATE moons_net)   # then: #include "moons.h"
function(nngen_add_network target nn)
  cmake_parse_arguments(N "" "NAME" "OPTIONS" ${ARGN})
  if(N_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "nngen_add_network: unexpected arguments: ${N_UNPARSED_ARGUMENTS}")
  endif()
  get_filename_component(src ${nn} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  if(NOT EXISTS ${src})
    message(FATAL_ERROR "nngen_add_network: no such file: ${src}")
  endif()
  if(NOT N_NAME)
    get_filename_component(N_NAME ${nn} NAME_WE)
  endif()
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/nngen/${target})
  if(TARGET nngen) # building nngen itself: depend on the target
    set(compiler nngen)
  else()
    set(compiler $<TARGET_FILE:nngen::nngen>)
  endif()
  add_custom_command(OUTPUT ${dir}/${N_NAME}.c ${dir}/${N_NAME}.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND $<TARGET_FILE:nngen::nngen> ${N_OPTIONS} ${src} -o ${dir}/${N_NAME}.c
    DEPENDS ${src} ${compiler}
    COMMENT "nngen ${nn} -> ${N_NAME}.c"
    VERBATIM)
  add_library(${target} STATIC ${dir}/${N_NAME}.c ${dir}/${N_NAME}.h)
  target_include_directories(${target} PUBLIC ${dir})
  set_target_properties(${target} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON)
  if("--standalone" IN_LIST N_OPTIONS OR "--freestanding" IN_LIST N_OPTIONS)
    target_link_libraries(${target} PUBLIC m) # the runtime is in the generated C
  else()
    target_link_libraries(${target} PUBLIC nngen::nnrt)
  endif()
endfunction()
