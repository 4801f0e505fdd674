// Backend registry and the host thread-count control.
#include "tensor/backend.h"

#include <cstdio>
#include <thread>

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/profiler.h"
#include "tensor/profiling_backend.h"

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

namespace cuda {
// The device side, chosen at link time: cuda/backend.cpp in a CUDA build (or in the CUDA
// simulator's build, cuda/sim), tensor/no_cuda.cpp otherwise. So this file, and everything
// else in the core library, compiles the same whether or not CUDA is there.
bool compiled();
// Opens device `index`, or throws a clear error.
Backend* make_backend(int index);
}  // namespace cuda

namespace {
std::mutex g_mutex;
// One per GPU, alive for the whole process. The map itself is never destroyed either: were it
// cleared by the static destructors, LeakSanitizer (which checks after them) would see the
// backends as leaked; reachable from this global, they are not.
std::map<int, Backend*>& g_cuda_backends = *new std::map<int, Backend*>;
}  // namespace

bool cuda_compiled() { return cuda::compiled(); }
std::string compiled_backends() { return cuda_compiled() ? "cpu, cuda" : "cpu"; }

Backend& backend_for(Device device) {
    Backend& b = device_backend(device);
    return profiler::enabled_for(device) ? profiling_backend(b) : b;
}

Backend& device_backend(Device device) {
    if (device.is_cpu()) return cpu_backend();
    DCODR_CHECK(cuda_compiled(), "device {} requested, but this dcodr was built without CUDA "
                "(reconfigure with -Dcuda=enabled on a machine with nvcc and cuDNN)", device.str());
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_cuda_backends.find(device.index);
    if (it != g_cuda_backends.end()) return *it->second;
    Backend* b = cuda::make_backend(device.index);  // throws a clear error when no GPU is usable
    g_cuda_backends[device.index] = b;
    return *b;
}

namespace {
// Host clock: exact for a backend whose ops have finished when they return.
class HostClockTimer final : public DeviceTimer {
public:
    void start() override { t0_ = std::chrono::steady_clock::now(); }
    void stop() override { t1_ = std::chrono::steady_clock::now(); }
    double elapsed_ms() override { return std::chrono::duration<double, std::milli>(t1_ - t0_).count(); }

private:
    std::chrono::steady_clock::time_point t0_, t1_;
};
}  // namespace

std::unique_ptr<DeviceTimer> Backend::new_timer() { return std::make_unique<HostClockTimer>(); }

void Backend::adam_step(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, double lr, double b1, double b2,
                        double eps, double c1, double c2) {
    auto scaled = [&](const Tensor& t, double s) {
        Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
        unary(UnaryOp::mul_scalar, t, out, s);
        return out;
    };
    auto combine = [&](BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) { binary(op, a, b, out, 0.0); };
    combine(BinaryOp::add, scaled(m, b1), scaled(g, 1 - b1), m);
    Tensor g2 = Tensor::empty(g.shape(), g.dtype(), g.device());
    combine(BinaryOp::mul, g, g, g2);
    combine(BinaryOp::add, scaled(v, b2), scaled(g2, 1 - b2), v);
    Tensor denom = scaled(v, 1.0 / c2);
    unary(UnaryOp::sqrt, denom, denom, 0.0);
    unary(UnaryOp::add_scalar, denom, denom, eps);
    Tensor step = Tensor::empty(p.shape(), p.dtype(), p.device());
    combine(BinaryOp::div, m, denom, step);
    combine(BinaryOp::sub, p, scaled(step, lr / c1), p);
}

void Backend::conv2d_backward_data_add(const Tensor& gy, const Tensor& w, Tensor& gx, const Conv2dParams& p) {
    Tensor part = Tensor::empty(gx.shape(), gx.dtype(), gx.device());
    conv2d_backward_data(gy, w, part, p);
    binary(BinaryOp::add, gx, part, gx, 0.0);
}

void Backend::adam_step_multi(const std::vector<AdamTensors>& ts, double lr, double b1, double b2, double eps,
                              double c1, double c2) {
    for (const AdamTensors& t : ts) adam_step(*t.param, *t.grad, *t.m, *t.v, lr, b1, b2, eps, c1, c2);
}

static int g_threads = [] {
    if (const char* env = std::getenv("DCODR_THREADS")) {
        int n = std::atoi(env);
        // The same cap as --threads (tools/option_checks.h): 100000 OpenMP threads crashed.
        const int cores = static_cast<int>(std::thread::hardware_concurrency());
        if (n > 0 && cores > 0 && n > cores) {
            std::fprintf(stderr, "note: DCODR_THREADS=%d is more than the %d cores of this machine; using %d\n", n,
                         cores, cores);
            n = cores;
        }
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
