#include "tensor/profiling_backend.h"

#include <fmt/format.h>

#include <map>
#include <mutex>

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

    void fill(Tensor& out, double v) override {
        Timed t(in_, "fill", dims(out));
        in_.fill(out, v);
    }
    void strided_copy(const Tensor& src, Tensor& dst) override {
        Timed t(in_, "strided_copy",
                fmt::format("{}{} {}->{}", dims(dst), src.is_contiguous() ? "" : " strided", dtype_name(src.dtype()),
                            dtype_name(dst.dtype())));
        in_.strided_copy(src, dst);
    }
    void arange(Tensor& out) override {
        Timed t(in_, "arange", dims(out));
        in_.arange(out);
    }
    void random_uniform(Tensor& out, std::uint64_t seed, std::uint64_t off, double lo, double hi) override {
        Timed t(in_, "random_uniform", dims(out));
        in_.random_uniform(out, seed, off, lo, hi);
    }
    void random_normal(Tensor& out, std::uint64_t seed, std::uint64_t off, double mean, double sd) override {
        Timed t(in_, "random_normal", dims(out));
        in_.random_normal(out, seed, off, mean, sd);
    }

    void unary(UnaryOp op, const Tensor& x, Tensor& out, double alpha) override {
        Timed t(in_, "unary", fmt::format("{} {}", unary_name(op), dims(out)));
        in_.unary(op, x, out, alpha);
    }
    void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, double alpha) override {
        bool plain = a.is_contiguous() && b.is_contiguous();
        Timed t(in_, "binary", fmt::format("{} {}{}", binary_name(op), dims(out), plain ? "" : " broadcast"));
        in_.binary(op, a, b, out, alpha);
    }
    void where(const Tensor& c, const Tensor& a, const Tensor& b, Tensor& out) override {
        Timed t(in_, "where", dims(out));
        in_.where(c, a, b, out);
    }
    void sum_rows(const Tensor& x, Tensor& out) override {
        Timed t(in_, "sum_rows", dims(x));
        in_.sum_rows(x, out);
    }
    void max_rows(const Tensor& x, Tensor& out, Tensor& arg) override {
        Timed t(in_, "max_rows", dims(x));
        in_.max_rows(x, out, arg);
    }
    void matmul(const Tensor& a, const Tensor& b, Tensor& out, bool ta, bool tb, bool acc) override {
        Timed t(in_, "matmul", fmt::format("{}{} @ {}{} -> {}", dims(a), ta ? "^T" : "", dims(b), tb ? "^T" : "",
                                           dims(out)));
        in_.matmul(a, b, out, ta, tb, acc);
    }

    void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p) override {
        Timed t(in_, "conv2d_forward", conv_detail(x, w.shape(), p));
        in_.conv2d_forward(x, w, y, p);
    }
    void conv2d_backward_data(const Tensor& gy, const Tensor& w, Tensor& gx, const Conv2dParams& p) override {
        Timed t(in_, "conv2d_backward_data", conv_detail(gx, w.shape(), p));
        in_.conv2d_backward_data(gy, w, gx, p);
    }
    void conv2d_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, const Conv2dParams& p) override {
        Timed t(in_, "conv2d_backward_filter", conv_detail(x, gw.shape(), p));
        in_.conv2d_backward_filter(x, gy, gw, p);
    }

    void max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& idx, const Pool2dParams& p) override {
        Timed t(in_, "max_pool2d_forward", dims(x));
        in_.max_pool2d_forward(x, y, idx, p);
    }
    void max_pool2d_backward(const Tensor& gy, const Tensor& idx, Tensor& gx) override {
        Timed t(in_, "max_pool2d_backward", dims(gx));
        in_.max_pool2d_backward(gy, idx, gx);
    }
    void avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dParams& p) override {
        Timed t(in_, "avg_pool2d_forward", dims(x));
        in_.avg_pool2d_forward(x, y, p);
    }
    void avg_pool2d_backward(const Tensor& gy, Tensor& gx, const Pool2dParams& p) override {
        Timed t(in_, "avg_pool2d_backward", dims(gx));
        in_.avg_pool2d_backward(gy, gx, p);
    }
    void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) override {
        Timed t(in_, "adaptive_avg_pool2d_forward", dims(x));
        in_.adaptive_avg_pool2d_forward(x, y);
    }
    void adaptive_avg_pool2d_backward(const Tensor& gy, Tensor& gx) override {
        Timed t(in_, "adaptive_avg_pool2d_backward", dims(gx));
        in_.adaptive_avg_pool2d_backward(gy, gx);
    }
    void upsample_nearest2d_forward(const Tensor& x, Tensor& y) override {
        Timed t(in_, "upsample_nearest2d_forward", dims(x));
        in_.upsample_nearest2d_forward(x, y);
    }
    void upsample_nearest2d_backward(const Tensor& gy, Tensor& gx) override {
        Timed t(in_, "upsample_nearest2d_backward", dims(gx));
        in_.upsample_nearest2d_backward(gy, gx);
    }

    void batch_norm_forward_train(const Tensor& x, const Tensor* w, const Tensor* b, Tensor* rm, Tensor* rv,
                                  double momentum, double eps, std::int64_t groups, const BatchNormTail& tail,
                                  Tensor& y, Tensor& sm, Tensor& si) override {
        Timed t(in_, "batch_norm_forward_train", bn_detail(x, groups, tail.residual != nullptr, tail.relu));
        in_.batch_norm_forward_train(x, w, b, rm, rv, momentum, eps, groups, tail, y, sm, si);
    }
    void batch_norm_forward_eval(const Tensor& x, const Tensor* w, const Tensor* b, const Tensor& rm,
                                 const Tensor& rv, double eps, Tensor& y) override {
        Timed t(in_, "batch_norm_forward_eval", dims(x));
        in_.batch_norm_forward_eval(x, w, b, rm, rv, eps, y);
    }
    void batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor* w, const Tensor& sm, const Tensor& si,
                             std::int64_t groups, const Tensor* relu_out, Tensor& gx, Tensor* gw, Tensor* gb,
                             Tensor* g_relu_in) override {
        Timed t(in_, "batch_norm_backward", bn_detail(x, groups, g_relu_in != nullptr, relu_out != nullptr));
        in_.batch_norm_backward(gy, x, w, sm, si, groups, relu_out, gx, gw, gb, g_relu_in);
    }

    void index_select(const Tensor& x, const Tensor& idx, Tensor& out, std::int64_t o, std::int64_t i) override {
        Timed t(in_, "index_select", dims(out));
        in_.index_select(x, idx, out, o, i);
    }
    void index_add(const Tensor& src, const Tensor& idx, Tensor& out, std::int64_t o, std::int64_t i) override {
        Timed t(in_, "index_add", dims(src));
        in_.index_add(src, idx, out, o, i);
    }
    void gather(const Tensor& x, const Tensor& idx, Tensor& out, std::int64_t o, std::int64_t i) override {
        Timed t(in_, "gather", dims(out));
        in_.gather(x, idx, out, o, i);
    }
    void scatter_add(const Tensor& src, const Tensor& idx, Tensor& out, std::int64_t o, std::int64_t i) override {
        Timed t(in_, "scatter_add", dims(src));
        in_.scatter_add(src, idx, out, o, i);
    }

    void adam_step(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, double lr, double b1, double b2, double eps,
                   double c1, double c2) override {
        Timed t(in_, "adam_step", "");  // one row for all parameters: the optimizer's share
        in_.adam_step(p, g, m, v, lr, b1, b2, eps, c1, c2);
    }

    void adam_step_multi(const std::vector<AdamTensors>& ts, double lr, double b1, double b2, double eps, double c1,
                         double c2) override {
        Timed t(in_, "adam_step_multi", fmt::format("{} tensors", ts.size()));
        in_.adam_step_multi(ts, lr, b1, b2, eps, c1, c2);
    }

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
