# arm-none-eabi.cmake - CMake toolchain file for the firmware example: a
# Cortex-M4 with its single-precision FPU (hard-float ABI), bare metal,
# newlib with semihosting (rdimon) for printf and exit.
#
#   the default of examples/firmware/CMakeLists.txt (cmake -S examples/firmware -B build-fw ...)
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
# no executable can run while CMake probes the compiler
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(NN_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
set(CMAKE_C_FLAGS_INIT "${NN_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${NN_CPU_FLAGS} --specs=rdimon.specs")

find_program(NN_ARM_SIZE arm-none-eabi-size)
find_program(NN_ARM_NM arm-none-eabi-nm)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
