// The CUDA simulator compiles cuda/elementwise.cu as C++ (meson would hand a .cu file to nvcc).
#include "cuda/elementwise.cu"
