// CudaBackend's kernel methods: unpack tensors into device pointers and sizes and queue the
// launchers of cuda/launch.h (defined in the .cu files) on the backend's stream.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/launch.h"

namespace dcodr::cuda {

static_assert(static_cast<int>(DType::f32) == kF32 && static_cast<int>(DType::f64) == kF64 &&
              static_cast<int>(DType::i64) == kI64);
static_assert(static_cast<int>(UnaryOp::reciprocal) == static_cast<int>(UOp::reciprocal) &&
              static_cast<int>(UnaryOp::relu) == static_cast<int>(UOp::relu));
static_assert(static_cast<int>(BinaryOp::leaky_relu_grad) == static_cast<int>(BOp::leaky_relu_grad) &&
              static_cast<int>(BinaryOp::eq) == static_cast<int>(BOp::eq));

namespace {

int dt(const Tensor& t) { return static_cast<int>(t.dtype()); }
const void* cptr(const Tensor* t) { return t ? t->raw_data() : nullptr; }
void* mptr(Tensor* t) { return t ? t->raw_data() : nullptr; }

void check_floating(const char* op, const Tensor& t) {
    DCODR_CHECK(is_floating(t.dtype()), "{} on CUDA: expected a float32 or float64 tensor, got {}", op,
                dtype_name(t.dtype()));
}

// Indexer over one shape, merging dims that are contiguous in every operand.
template <int N>
Strided<N> make_strided(const Shape& shape, const Shape* const (&strides)[N]) {
    Strided<N> s;
    std::vector<std::int64_t> sizes;
    std::vector<std::array<std::int64_t, N>> st;
    for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {  // innermost first
        if (shape[d] == 1) continue;
        bool merge = !sizes.empty();
        for (int k = 0; k < N && merge; ++k)
            if ((*strides[k])[d] != st.back()[k] * sizes.back()) merge = false;
        if (merge) {
            sizes.back() *= shape[d];
        } else {
            sizes.push_back(shape[d]);
            std::array<std::int64_t, N> a{};
            for (int k = 0; k < N; ++k) a[k] = (*strides[k])[d];
            st.push_back(a);
        }
    }
    int nd = static_cast<int>(sizes.size());
    DCODR_CHECK(nd <= kMaxDims, "CUDA backend: a strided view of shape {} has more than {} non-mergeable dims",
                shape_str(shape), kMaxDims);
    s.ndim = nd;
    for (int i = 0; i < nd; ++i) {  // outermost first
        s.size[i] = sizes[nd - 1 - i];
        for (int k = 0; k < N; ++k) s.stride[k][i] = st[nd - 1 - i][k];
    }
    return s;
}

PoolGeom geom(const Tensor& in, const Tensor& out, const Pool2dParams* p) {
    PoolGeom g{};
    g.planes = in.size(0) * in.size(1);
    g.h = in.size(2);
    g.w = in.size(3);
    g.oh = out.size(2);
    g.ow = out.size(3);
    if (p) {
        g.kh = p->kernel_h;
        g.kw = p->kernel_w;
        g.sh = p->stride_h;
        g.sw = p->stride_w;
        g.ph = p->pad_h;
        g.pw = p->pad_w;
        g.count_include_pad = p->count_include_pad;
    }
    return g;
}

}  // namespace

// ---------------------------------------------------------------- data movement

void CudaBackend::fill(Tensor& out, double value) {
    std::int64_t n = out.numel();
    if (n == 0) return;
    if (value == 0.0 && !std::signbit(value)) {  // all-zero bits for every dtype (not -0.0)
        DCODR_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, static_cast<std::size_t>(n) * dtype_size(out.dtype()),
                                         stream_));
        return;
    }
    launch_fill(out.raw_data(), dt(out), value, n, stream_);
}

void CudaBackend::arange(Tensor& out) {
    if (out.numel() > 0) launch_arange(out.raw_data(), dt(out), out.numel(), stream_);
}

void CudaBackend::strided_copy(const Tensor& src, Tensor& dst) {
    std::int64_t n = dst.numel();
    if (n == 0) return;
    if (src.is_contiguous() && dst.is_contiguous()) {
        if (src.dtype() == dst.dtype()) {
            DCODR_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(),
                                             static_cast<std::size_t>(n) * dtype_size(dst.dtype()),
                                             cudaMemcpyDeviceToDevice, stream_));
        } else {
            launch_copy(dst.raw_data(), dt(dst), src.raw_data(), dt(src), nullptr, n, stream_);
        }
        return;
    }
    const Shape* st[2] = {&dst.strides(), &src.strides()};
    Strided<2> ix = make_strided<2>(dst.shape(), st);
    launch_copy(dst.raw_data(), dt(dst), src.raw_data(), dt(src), &ix, n, stream_);
}

void CudaBackend::random_uniform(Tensor& out, std::uint64_t seed, std::uint64_t offset, double lo, double hi) {
    check_floating("uniform", out);
    if (out.numel() > 0) launch_uniform(out.raw_data(), dt(out), out.numel(), seed, offset, lo, hi, stream_);
}
void CudaBackend::random_normal(Tensor& out, std::uint64_t seed, std::uint64_t offset, double mean, double std) {
    check_floating("normal", out);
    if (out.numel() > 0) launch_normal(out.raw_data(), dt(out), out.numel(), seed, offset, mean, std, stream_);
}

// ---------------------------------------------------------------- elementwise

void CudaBackend::unary(UnaryOp op, const Tensor& x, Tensor& out, double alpha) {
    if (out.numel() == 0) return;
    launch_unary(static_cast<UOp>(op), dt(out), x.raw_data(), out.raw_data(), out.numel(), alpha, stream_);
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, double alpha) {
    std::int64_t n = out.numel();
    if (n == 0) return;
    if (a.is_contiguous() && b.is_contiguous() && out.is_contiguous() && a.numel() == n && b.numel() == n) {
        launch_binary(static_cast<BOp>(op), dt(out), a.raw_data(), b.raw_data(), out.raw_data(), nullptr, n, alpha,
                      stream_);
        return;
    }
    const Shape* st[3] = {&out.strides(), &a.strides(), &b.strides()};
    Strided<3> ix = make_strided<3>(out.shape(), st);
    launch_binary(static_cast<BOp>(op), dt(out), a.raw_data(), b.raw_data(), out.raw_data(), &ix, n, alpha, stream_);
}

void CudaBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
    std::int64_t n = out.numel();
    if (n == 0) return;
    const Shape* st[4] = {&out.strides(), &cond.strides(), &a.strides(), &b.strides()};
    Strided<4> ix = make_strided<4>(out.shape(), st);
    launch_where(dt(out), cond.raw_data(), a.raw_data(), b.raw_data(), out.raw_data(), ix, n, stream_);
}

void CudaBackend::adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr, double beta1,
                            double beta2, double eps, double c1, double c2) {
    if (!param.is_contiguous() || !grad.is_contiguous() || !m.is_contiguous() || !v.is_contiguous() ||
        grad.dtype() != param.dtype()) {
        Backend::adam_step(param, grad, m, v, lr, beta1, beta2, eps, c1, c2);  // composed fallback
        return;
    }
    if (param.numel() == 0) return;
    launch_adam_step(dt(param), param.raw_data(), grad.raw_data(), m.raw_data(), v.raw_data(), param.numel(), lr,
                     beta1, beta2, eps, c1, c2, stream_);
}

void CudaBackend::adam_step_multi(const std::vector<AdamTensors>& ts, double lr, double beta1, double beta2,
                                  double eps, double c1, double c2) {
    // Every contiguous tensor of the first float dtype goes into one chunk table and one launch;
    // anything else (non-contiguous, another dtype) takes the single-tensor path.
    std::vector<AdamChunk> chunks;
    int dtype = -1;
    for (const AdamTensors& t : ts) {
        Tensor& p = *t.param;
        bool fusable = p.is_contiguous() && t.grad->is_contiguous() && t.m->is_contiguous() &&
                       t.v->is_contiguous() && t.grad->dtype() == p.dtype() && t.m->dtype() == p.dtype() &&
                       t.v->dtype() == p.dtype() && p.dtype() != DType::i64 && (dtype < 0 || dt(p) == dtype);
        if (!fusable) {
            adam_step(p, *t.grad, *t.m, *t.v, lr, beta1, beta2, eps, c1, c2);
            continue;
        }
        dtype = dt(p);
        for (std::int64_t begin = 0; begin < p.numel(); begin += kAdamChunkElements)
            chunks.push_back({p.raw_data(), t.grad->raw_data(), t.m->raw_data(), t.v->raw_data(), begin,
                              std::min(kAdamChunkElements, p.numel() - begin)});
    }
    if (chunks.empty()) return;
    // The table travels with the stream (staged upload, no wait); the scratch block is released
    // stream-ordered, after the kernel.
    std::size_t bytes = chunks.size() * sizeof(AdamChunk);
    Scratch table(this, bytes);
    copy_from_host(table.ptr, chunks.data(), bytes);
    launch_adam_multi(dtype, static_cast<const AdamChunk*>(table.ptr), static_cast<std::int64_t>(chunks.size()), lr,
                      beta1, beta2, eps, c1, c2, stream_);
}

// ---------------------------------------------------------------- reductions

void CudaBackend::sum_rows(const Tensor& x, Tensor& out) {
    std::int64_t rows = out.numel();
    if (rows == 0) return;
    std::int64_t n = x.numel() / rows;
    if (n == 0) {
        fill(out, 0.0);
        return;
    }
    if (sum_rows_wants_split(rows, n)) {
        Scratch partials(this, sum_rows_split_scratch_bytes(rows, n));
        launch_sum_rows_split(dt(out), x.raw_data(), out.raw_data(), rows, n, partials.ptr, stream_);
        return;
    }
    launch_sum_rows(dt(out), x.raw_data(), out.raw_data(), rows, n, stream_);
}

void CudaBackend::max_rows(const Tensor& x, Tensor& out, Tensor& argmax) {
    std::int64_t rows = out.numel();
    if (rows == 0) return;
    std::int64_t n = x.numel() / rows;
    DCODR_CHECK(n > 0, "max on CUDA: cannot reduce an empty dimension");
    launch_max_rows(dt(out), x.raw_data(), out.raw_data(), argmax.data<std::int64_t>(), rows, n, stream_);
}

// ---------------------------------------------------------------- pooling / resampling

void CudaBackend::max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& indices, const Pool2dParams& p) {
    if (y.numel() == 0) return;
    launch_max_pool_fwd(dt(y), x.raw_data(), y.raw_data(), indices.data<std::int64_t>(), geom(x, y, &p), stream_);
}
void CudaBackend::max_pool2d_backward(const Tensor& gy, const Tensor& indices, Tensor& gx) {
    if (gy.numel() == 0) return;
    std::int64_t planes = gx.size(0) * gx.size(1);
    launch_max_pool_bwd(dt(gx), gy.raw_data(), indices.data<std::int64_t>(), gx.raw_data(), planes,
                        gx.size(2) * gx.size(3), gy.size(2) * gy.size(3), stream_);
}
void CudaBackend::avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dParams& p) {
    if (y.numel() > 0) launch_avg_pool_fwd(dt(y), x.raw_data(), y.raw_data(), geom(x, y, &p), stream_);
}
void CudaBackend::avg_pool2d_backward(const Tensor& gy, Tensor& gx, const Pool2dParams& p) {
    if (gx.numel() > 0) launch_avg_pool_bwd(dt(gx), gy.raw_data(), gx.raw_data(), geom(gx, gy, &p), stream_);
}
void CudaBackend::adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
    if (y.numel() > 0) launch_adaptive_avg_fwd(dt(y), x.raw_data(), y.raw_data(), geom(x, y, nullptr), stream_);
}
void CudaBackend::adaptive_avg_pool2d_backward(const Tensor& gy, Tensor& gx) {
    if (gx.numel() > 0) launch_adaptive_avg_bwd(dt(gx), gy.raw_data(), gx.raw_data(), geom(gx, gy, nullptr), stream_);
}
void CudaBackend::upsample_nearest2d_forward(const Tensor& x, Tensor& y) {
    if (y.numel() > 0) launch_upsample_fwd(dt(y), x.raw_data(), y.raw_data(), geom(x, y, nullptr), stream_);
}
void CudaBackend::upsample_nearest2d_backward(const Tensor& gy, Tensor& gx) {
    if (gx.numel() > 0) launch_upsample_bwd(dt(gx), gy.raw_data(), gx.raw_data(), geom(gx, gy, nullptr), stream_);
}

// ---------------------------------------------------------------- batch norm

// Per-block partial statistics for batch-norm shapes whose channels are split over several
// blocks (cuda/batch_norm.cu), from the caching allocator; undefined when none are needed.
// Freed on return: the allocator hands the block out again only to work queued after it.
static Tensor bn_scratch(const BnShape& q, Device device) {
    const std::int64_t n = bn_scratch_doubles(q);
    return n > 0 ? Tensor::empty({n}, DType::f64, device) : Tensor();
}
static double* scratch_ptr(const Tensor& t) { return t.defined() ? static_cast<double*>(t.raw_data()) : nullptr; }

void CudaBackend::batch_norm_forward_train(const Tensor& x, const Tensor* weight, const Tensor* bias,
                                           Tensor* running_mean, Tensor* running_var, double momentum, double eps,
                                           std::int64_t groups, const BatchNormTail& tail, Tensor& y,
                                           Tensor& save_mean, Tensor& save_invstd) {
    const BnShape q{x.size(0), x.size(1), x.size(2), groups};
    if (q.c == 0) return;
    Tensor scratch = bn_scratch(q, x.device());
    launch_bn_train(dt(x), q, x.raw_data(), cptr(weight), cptr(bias), mptr(running_mean), mptr(running_var),
                    momentum, eps, cptr(tail.residual), tail.relu, y.raw_data(), save_mean.raw_data(),
                    save_invstd.raw_data(), scratch_ptr(scratch), stream_);
}
void CudaBackend::batch_norm_forward_eval(const Tensor& x, const Tensor* weight, const Tensor* bias,
                                          const Tensor& running_mean, const Tensor& running_var, double eps,
                                          Tensor& y) {
    if (y.numel() == 0) return;
    launch_bn_eval(dt(x), x.raw_data(), cptr(weight), cptr(bias), running_mean.raw_data(), running_var.raw_data(),
                   eps, y.raw_data(), x.size(0), x.size(1), x.size(2), stream_);
}
void CudaBackend::batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor* weight,
                                      const Tensor& save_mean, const Tensor& save_invstd, std::int64_t groups,
                                      const Tensor* relu_out, Tensor& gx, Tensor* gweight, Tensor* gbias,
                                      Tensor* g_relu_in) {
    const BnShape q{x.size(0), x.size(1), x.size(2), groups};
    if (q.c == 0) return;
    Tensor scratch = bn_scratch(q, x.device());
    launch_bn_backward(dt(x), q, gy.raw_data(), x.raw_data(), cptr(weight), save_mean.raw_data(),
                       save_invstd.raw_data(), cptr(relu_out), gx.raw_data(), mptr(gweight), mptr(gbias),
                       mptr(g_relu_in), scratch_ptr(scratch), stream_);
}

// ---------------------------------------------------------------- indexing

void CudaBackend::index_select(const Tensor& x, const Tensor& idx, Tensor& out, std::int64_t outer,
                               std::int64_t inner) {
    if (out.numel() == 0) return;
    std::int64_t n = x.numel() / std::max<std::int64_t>(outer * inner, 1);
    launch_index_select(dt(out), x.raw_data(), idx.data<std::int64_t>(), out.raw_data(), outer, n, idx.numel(), inner,
                        stream_);
}

void CudaBackend::index_add(const Tensor& src, const Tensor& idx, Tensor& out, std::int64_t outer,
                            std::int64_t inner) {
    std::int64_t k = idx.numel();
    if (out.numel() == 0 || k == 0) return;
    std::int64_t n = out.numel() / std::max<std::int64_t>(outer * inner, 1);
    std::size_t bytes = index_add_scratch_bytes(k, n);
    Scratch scratch(this, bytes);
    launch_index_add(dt(out), src.raw_data(), idx.data<std::int64_t>(), out.raw_data(), outer, n, k, inner,
                     scratch.ptr, bytes, stream_);
}

void CudaBackend::gather(const Tensor& x, const Tensor& idx, Tensor& out, std::int64_t outer, std::int64_t inner) {
    if (out.numel() == 0) return;
    std::int64_t n = x.numel() / std::max<std::int64_t>(outer * inner, 1);
    std::int64_t k = out.numel() / std::max<std::int64_t>(outer * inner, 1);
    launch_gather(dt(out), x.raw_data(), idx.data<std::int64_t>(), out.raw_data(), outer, n, k, inner, stream_);
}

void CudaBackend::scatter_add(const Tensor& src, const Tensor& idx, Tensor& out, std::int64_t outer,
                              std::int64_t inner) {
    if (out.numel() == 0 || src.numel() == 0) return;
    std::int64_t n = out.numel() / std::max<std::int64_t>(outer * inner, 1);
    std::int64_t k = src.numel() / std::max<std::int64_t>(outer * inner, 1);
    launch_scatter_add(dt(out), src.raw_data(), idx.data<std::int64_t>(), out.raw_data(), outer, n, k, inner,
                       stream_);
}

}  // namespace dcodr::cuda
