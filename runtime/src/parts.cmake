# parts.cmake - the parts of the runtime, in the order cmake/amalgamate.cmake
# pastes them into the one nn_runtime.c (internal.h first: every part
# includes it; the amalgamation has it once). The top CMakeLists.txt builds
# libnnrt from the .c files of the same list. A part may call another
# part's functions only through nn_runtime.h or internal.h's NNRT_PRIVATE
# declarations, so this order only decides where the text goes.
set(NNRT_PARTS internal.h core.c libm.c threads.c gemm.c conv.c weights.c files.c)
