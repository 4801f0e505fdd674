// The device side of a CPU-only build (see tensor/backend.cpp): no CUDA backend is linked in.
#include "tensor/backend.h"
#include "tensor/error.h"

namespace dcodr::cuda {

bool compiled() { return false; }

Backend* make_backend(int) {
    throw Error("this dcodr was built without CUDA (reconfigure with -Dcuda=enabled on a machine with nvcc and cuDNN)");
}

}  // namespace dcodr::cuda
