// Backend registry and the host thread-count control.
#include "tensor/backend.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "tensor/cpu/cpu_backend.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dcodr {

const char* unary_name(UnaryOp op) {
    static const char* names[] = {"neg", "exp", "log", "sqrt", "rsqrt", "abs", "tanh", "sigmoid", "relu",
                                  "leaky_relu", "pow", "add_scalar", "mul_scalar", "sign", "square", "reciprocal"};
    return names[static_cast<int>(op)];
}
const char* binary_name(BinaryOp op) {
    static const char* names[] = {"add", "sub", "mul", "div", "maximum", "minimum", "eq", "ne", "lt", "le",
                                  "gt", "ge", "relu_grad", "leaky_relu_grad"};
    return names[static_cast<int>(op)];
}

#ifdef DCODR_WITH_CUDA
namespace cuda {
// Defined in cuda/cuda_backend.cu: opens device `index`, or throws a clear error.
Backend* make_backend(int index);
}  // namespace cuda
#endif

namespace {
std::mutex g_mutex;
std::map<int, Backend*> g_cuda_backends;  // one per GPU, alive for the whole process
}  // namespace

bool cuda_compiled() {
#ifdef DCODR_WITH_CUDA
    return true;
#else
    return false;
#endif
}
std::string compiled_backends() { return cuda_compiled() ? "cpu, cuda" : "cpu"; }

Backend& backend_for(Device device) {
    if (device.is_cpu()) return cpu_backend();
    DCODR_CHECK(cuda_compiled(), "device {} requested, but this dcodr was built without CUDA "
                "(reconfigure with -Dcuda=enabled on a machine with nvcc and cuDNN)", device.str());
#ifdef DCODR_WITH_CUDA
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_cuda_backends.find(device.index);
    if (it != g_cuda_backends.end()) return *it->second;
    Backend* b = cuda::make_backend(device.index);  // throws a clear error when no GPU is usable
    g_cuda_backends[device.index] = b;
    return *b;
#else
    fail("unreachable");
#endif
}

static int g_threads = [] {
    if (const char* env = std::getenv("DCODR_THREADS")) {
        int n = std::atoi(env);
        if (n > 0) {
#ifdef _OPENMP
            omp_set_num_threads(n);
#endif
            return n;
        }
    }
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}();

void set_num_threads(int n) {
    DCODR_CHECK(n > 0, "thread count must be positive, got {}", n);
    g_threads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}
int num_threads() { return g_threads; }

}  // namespace dcodr
