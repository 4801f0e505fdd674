// The CUDA simulator compiles cuda/nn.cu as C++ (meson would hand a .cu file to nvcc).
#include "cuda/nn.cu"
