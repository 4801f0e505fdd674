// The CUDA simulator compiles cuda/batch_norm.cu as C++ (meson would hand a .cu file to nvcc).
#include "cuda/batch_norm.cu"
