// The CUDA simulator compiles cuda/index.cu as C++ (meson would hand a .cu file to nvcc).
#include "cuda/index.cu"
