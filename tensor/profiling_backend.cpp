#include "tensor/profiling_backend.h"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <type_traits>

#include "tensor/profiler.h"

namespace dcodr {

namespace {

std::string dims(const Tensor& t) {
    if (t.dim() == 0) return "scalar";
    std::string s = std::to_string(t.size(0));
    for (std::int64_t i = 1; i < t.dim(); ++i) s += fmt::format("x{}", t.size(i));
    return s;
}

// "3x3/2 64->128 32x32 n256 g1": kernel/stride, channels, input plane, batch, groups.
std::string conv_detail(const Tensor& x, const Shape& w, const Conv2dParams& p) {
    std::string s = fmt::format("{}x{}/{} {}->{} {}x{} n{}", w[2], w[3], p.stride_h, x.size(1), w[0], x.size(2),
                                x.size(3), x.size(0));
    if (p.groups != 1) s += fmt::format(" g{}", p.groups);
    return s;
}

// "128x256x16 x2 +add +relu": the [N, C, S] view, statistics groups, fused tail.
std::string bn_detail(const Tensor& x, std::int64_t groups, bool add, bool relu) {
    return dims(x) + (groups != 1 ? fmt::format(" x{}", groups) : "") + (add ? " +add" : "") + (relu ? " +relu" : "");
}

// Kernel ops running inside another timed op on this thread (a kernel that makes an operand
// contiguous first): counted as part of the outer op, not again on their own.
thread_local int t_depth = 0;

// Runs `op` between the marks of a fresh timer and records it under (name, detail).
class Timed {
public:
    Timed(Backend& inner, const char* name, std::string detail) : name_(name), detail_(std::move(detail)) {
        if (t_depth++ > 0) return;
        timer_ = inner.new_timer();
        timer_->start();
    }
    ~Timed() {
        --t_depth;
        if (!timer_) return;
        // A destructor must not throw: if the stop mark fails (a CUDA error from the op itself,
        // say), drop this op's timing; the error resurfaces at the device's next call.
        try {
            timer_->stop();
            profiler::record(name_, std::move(detail_), std::move(timer_));
        } catch (...) {
        }
    }
    Timed(const Timed&) = delete;
    Timed& operator=(const Timed&) = delete;

private:
    const char* name_;
    std::string detail_;
    std::unique_ptr<DeviceTimer> timer_;
};

// The kernel ops, as enumerators: the tags that pick an op's description below.
enum class Op {
#define DCODR_BACKEND_OP(kind, name, params, args) name,
#include "tensor/backend_ops.def"
};

// What the profiler files an op's call under besides its name: by default the dims of its first
// tensor argument; ops whose cost depends on more say more (the specialisations below).
template <Op>
struct Describe {
    template <class... Args>
    static std::string of(const Args&... args) {
        std::string s;
        bool found = false;
        auto visit = [&](const auto& a) {
            if constexpr (std::is_same_v<std::decay_t<decltype(a)>, Tensor>) {
                if (!found) s = dims(a);
                found = true;
            }
        };
        (visit(args), ...);
        return s;
    }
};
template <>
struct Describe<Op::strided_copy> {
    static std::string of(const Tensor& src, const Tensor& dst) {
        return fmt::format("{}{} {}->{}", dims(dst), src.is_contiguous() ? "" : " strided", dtype_name(src.dtype()),
                           dtype_name(dst.dtype()));
    }
};
template <>
struct Describe<Op::unary> {
    static std::string of(UnaryOp op, const Tensor&, const Tensor& out, double) {
        return fmt::format("{} {}", unary_name(op), dims(out));
    }
};
template <>
struct Describe<Op::binary> {
    static std::string of(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double) {
        bool plain = a.is_contiguous() && b.is_contiguous();
        return fmt::format("{} {}{}", binary_name(op), dims(out), plain ? "" : " broadcast");
    }
};
template <>
struct Describe<Op::matmul> {
    static std::string of(const Tensor& a, const Tensor& b, const Tensor& out, bool ta, bool tb, bool) {
        return fmt::format("{}{} @ {}{} -> {}", dims(a), ta ? "^T" : "", dims(b), tb ? "^T" : "", dims(out));
    }
};
template <>
struct Describe<Op::conv2d_forward> {
    static std::string of(const Tensor& x, const Tensor& w, const Tensor&, const Conv2dParams& p) {
        return conv_detail(x, w.shape(), p);
    }
};
template <>
struct Describe<Op::conv2d_backward_data> {
    static std::string of(const Tensor&, const Tensor& w, const Tensor& gx, const Conv2dParams& p) {
        return conv_detail(gx, w.shape(), p);
    }
};
template <>
struct Describe<Op::conv2d_backward_data_add> {
    static std::string of(const Tensor&, const Tensor& w, const Tensor& gx, const Conv2dParams& p) {
        return conv_detail(gx, w.shape(), p);
    }
};
template <>
struct Describe<Op::conv2d_backward_filter> {
    static std::string of(const Tensor& x, const Tensor&, const Tensor& gw, const Conv2dParams& p) {
        return conv_detail(x, gw.shape(), p);
    }
};
template <>
struct Describe<Op::batch_norm_forward_train> {
    static std::string of(const Tensor& x, const Tensor*, const Tensor*, const Tensor*, const Tensor*, double, double,
                          std::int64_t groups, const BatchNormTail& tail, const Tensor&, const Tensor&,
                          const Tensor&) {
        return bn_detail(x, groups, tail.residual != nullptr, tail.relu);
    }
};
template <>
struct Describe<Op::batch_norm_backward> {
    static std::string of(const Tensor&, const Tensor& x, const Tensor*, const Tensor&, const Tensor&,
                          std::int64_t groups, const Tensor* relu_out, const Tensor&, const Tensor*, const Tensor*,
                          const Tensor* g_relu_in) {
        return bn_detail(x, groups, g_relu_in != nullptr, relu_out != nullptr);
    }
};
template <>
struct Describe<Op::adam_step> {
    template <class... Args>
    static std::string of(const Args&...) {
        return "";  // one row for all parameters: the optimizer's share
    }
};
template <>
struct Describe<Op::adam_step_multi> {
    template <class... Args>
    static std::string of(const std::vector<Backend::AdamTensors>& ts, const Args&...) {
        return fmt::format("{} tensors", ts.size());
    }
};

class ProfilingBackend final : public Backend {
public:
    explicit ProfilingBackend(Backend& inner) : in_(inner) {}
    Device device() const override { return in_.device(); }

    void* allocate(std::size_t n) override { return in_.allocate(n); }
    void deallocate(void* p, std::size_t n) override { in_.deallocate(p, n); }
    void copy_to_host(void* d, const void* s, std::size_t n) override {
        Timed t(in_, "copy_to_host", fmt::format("{} B", n));
        in_.copy_to_host(d, s, n);
    }
    void copy_from_host(void* d, const void* s, std::size_t n) override {
        Timed t(in_, "copy_from_host", fmt::format("{} B", n));
        in_.copy_from_host(d, s, n);
    }
    void synchronize() override { in_.synchronize(); }
    std::unique_ptr<DeviceTimer> new_timer() override { return in_.new_timer(); }

    // Every kernel op of tensor/backend_ops.def, defaulted ones included (so a device's own
    // version runs): forwarded unchanged between the marks of a timer.
#define DCODR_BACKEND_OP(kind, name, params, args)               \
    void name params override {                                  \
        Timed t(in_, #name, Describe<Op::name>::of args);        \
        in_.name args;                                           \
    }
#include "tensor/backend_ops.def"

private:
    Backend& in_;
};

}  // namespace

Backend& profiling_backend(Backend& inner) {
    static std::mutex mutex;
    static std::map<Backend*, std::unique_ptr<ProfilingBackend>> wrappers;
    std::lock_guard<std::mutex> lock(mutex);
    auto& w = wrappers[&inner];
    if (!w) w = std::make_unique<ProfilingBackend>(inner);
    return *w;
}

}  // namespace dcodr
