// The CUDA simulator compiles cuda/memory.cu as C++ (meson would hand a .cu file to nvcc).
#include "cuda/memory.cu"
