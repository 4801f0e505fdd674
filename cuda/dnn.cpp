// Matmul on cuBLAS and convolution on cuDNN (host code; kernels are cuBLAS's and cuDNN's).
//
// Convolution: per full configuration (dtype, input and weight shapes, stride, padding,
// dilation, groups, TF32 and deterministic switches) the descriptors and the chosen
// algorithm of each direction are created once and cached. Algorithms come from cuDNN's
// heuristics (cudnnGet*Algorithm_v7) or, in benchmark mode, from timing them
// (cudnnFind*AlgorithmEx), taking the first one that succeeds, fits the workspace limit and
// (in deterministic mode, the default) is marked deterministic. All directions share the
// backend's one grow-only workspace.
#include <fmt/format.h>

#include <array>
#include <climits>
#include <map>

#include "cuda/cuda_backend.h"

namespace dcodr::cuda {

namespace {

int to_int(std::int64_t v, const char* what) {
    if (v > INT_MAX || v < INT_MIN)
        throw Error(fmt::format("CUDA backend: {} = {} exceeds the 32-bit range cuBLAS/cuDNN accept", what, v));
    return static_cast<int>(v);
}

// alpha/beta scalars: cuDNN and cuBLAS want double for double data, float otherwise.
struct Scalars {
    float f[2];
    double d[2];
    const void* alpha(DType t) const { return t == DType::f64 ? static_cast<const void*>(&d[0]) : &f[0]; }
    const void* beta(DType t) const { return t == DType::f64 ? static_cast<const void*>(&d[1]) : &f[1]; }
    Scalars(double a, double b) : f{static_cast<float>(a), static_cast<float>(b)}, d{a, b} {}
};

cudnnDataType_t cudnn_type(DType t) {
    if (t == DType::f32) return CUDNN_DATA_FLOAT;
    if (t == DType::f64) return CUDNN_DATA_DOUBLE;
    throw Error("conv2d on CUDA: expected a float32 or float64 tensor, got int64");
}

// The largest workspace an algorithm may ask for; bigger ones are skipped.
constexpr std::size_t kWorkspaceLimit = std::size_t(2) << 30;

}  // namespace

// ---------------------------------------------------------------- matmul

void CudaBackend::matmul(const Tensor& a, const Tensor& b, Tensor& out, bool ta, bool tb, bool accumulate) {
    DType t = out.dtype();
    if (t == DType::i64) throw Error("matmul on CUDA: expected float32 or float64, got int64");
    std::int64_t batch = out.size(0), m = out.size(1), n = out.size(2);
    std::int64_t k = ta ? a.size(1) : a.size(2);
    if (batch == 0 || m == 0 || n == 0) return;
    long long a_step = a.size(0) == 1 ? 0 : m * k;
    long long b_step = b.size(0) == 1 ? 0 : k * n;
    // Row-major C[m,n] = A·B is column-major C^T[n,m] = B^T·A^T: swap the operands.
    cublasOperation_t op_b = tb ? CUBLAS_OP_T : CUBLAS_OP_N, op_a = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    int ldb = to_int(tb ? k : n, "matmul ldb"), lda = to_int(ta ? m : k, "matmul lda"), ldc = to_int(n, "matmul n");
    int M = to_int(m, "matmul m"), N = to_int(n, "matmul n"), K = to_int(k, "matmul k"), B = to_int(batch, "batch");
    Scalars s(1.0, accumulate ? 1.0 : 0.0);
    if (t == DType::f32) {
        DCODR_CUBLAS_CHECK(cublasSetMathMode(cublas_, tf32_enabled() ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                     : CUBLAS_DEFAULT_MATH));
        DCODR_CUBLAS_CHECK(cublasSgemmStridedBatched(cublas_, op_b, op_a, N, M, K, &s.f[0], b.data<float>(), ldb,
                                                     b_step, a.data<float>(), lda, a_step, &s.f[1],
                                                     out.data<float>(), ldc, static_cast<long long>(m) * n, B));
    } else {
        DCODR_CUBLAS_CHECK(cublasDgemmStridedBatched(cublas_, op_b, op_a, N, M, K, &s.d[0], b.data<double>(), ldb,
                                                     b_step, a.data<double>(), lda, a_step, &s.d[1],
                                                     out.data<double>(), ldc, static_cast<long long>(m) * n, B));
    }
}

// ---------------------------------------------------------------- convolution

struct ConvEntry {
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv[3] = {nullptr, nullptr, nullptr};  // fwd, bwd data, bwd filter
    bool have_fwd = false, have_bwd_data = false, have_bwd_filter = false;
    cudnnConvolutionFwdAlgo_t fwd{};
    cudnnConvolutionBwdDataAlgo_t bwd_data{};
    cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
    std::size_t ws_fwd = 0, ws_bwd_data = 0, ws_bwd_filter = 0;
};

struct CudaBackend::ConvCache {
    std::map<std::array<std::int64_t, 18>, ConvEntry> entries;
    std::mutex mutex;
};

namespace {

ConvEntry& conv_entry(CudaBackend::ConvCache& cache, DType t, const Shape& x, const Shape& w, const Shape& y,
                      const Conv2dParams& p) {
    bool tf32 = t == DType::f32 && tf32_enabled();
    std::array<std::int64_t, 18> key{static_cast<std::int64_t>(t), x[0], x[1], x[2], x[3], w[0], w[2], w[3],
                                     p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w, p.groups,
                                     tf32 ? 1 : 0, deterministic_enabled() ? 1 : 0, 0};
    auto it = cache.entries.find(key);
    if (it != cache.entries.end()) return it->second;
    // cuDNN's 4-d descriptors compute packed strides in int: the element counts must fit too
    // (a clear error here instead of a BAD_PARAM or a wrong stride inside cuDNN).
    to_int(x[0] * x[1] * x[2] * x[3], "the convolution input's N*C*H*W");
    to_int(y[0] * y[1] * y[2] * y[3], "the convolution output's N*C*H*W");
    ConvEntry e;
    cudnnDataType_t dt = cudnn_type(t);
    DCODR_CUDNN_CHECK(cudnnCreateTensorDescriptor(&e.x));
    DCODR_CUDNN_CHECK(cudnnCreateTensorDescriptor(&e.y));
    DCODR_CUDNN_CHECK(cudnnCreateFilterDescriptor(&e.w));
    DCODR_CUDNN_CHECK(cudnnSetTensor4dDescriptor(e.x, CUDNN_TENSOR_NCHW, dt, to_int(x[0], "N"), to_int(x[1], "C"),
                                                 to_int(x[2], "H"), to_int(x[3], "W")));
    DCODR_CUDNN_CHECK(cudnnSetTensor4dDescriptor(e.y, CUDNN_TENSOR_NCHW, dt, to_int(y[0], "N"), to_int(y[1], "C"),
                                                 to_int(y[2], "H"), to_int(y[3], "W")));
    DCODR_CUDNN_CHECK(cudnnSetFilter4dDescriptor(e.w, dt, CUDNN_TENSOR_NCHW, to_int(w[0], "O"), to_int(w[1], "C"),
                                                 to_int(w[2], "kH"), to_int(w[3], "kW")));
    for (auto& c : e.conv) {
        DCODR_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&c));
        // Cross-correlation (what deep-learning "convolution" means, and what the CPU does).
        DCODR_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(c, to_int(p.pad_h, "pad"), to_int(p.pad_w, "pad"),
                                                          to_int(p.stride_h, "stride"), to_int(p.stride_w, "stride"),
                                                          to_int(p.dil_h, "dilation"), to_int(p.dil_w, "dilation"),
                                                          CUDNN_CROSS_CORRELATION, dt));
        DCODR_CUDNN_CHECK(cudnnSetConvolutionGroupCount(c, to_int(p.groups, "groups")));
        DCODR_CUDNN_CHECK(cudnnSetConvolutionMathType(c, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
    }
    int n = 0, c = 0, h = 0, ww = 0;
    DCODR_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(e.conv[0], e.x, e.w, &n, &c, &h, &ww));
    if (n != y[0] || c != y[1] || h != y[2] || ww != y[3])
        throw Error(fmt::format("conv2d on CUDA: cuDNN computes output [{}, {}, {}, {}], expected {}", n, c, h, ww,
                                shape_str(y)));
    return cache.entries.emplace(key, e).first->second;
}

template <class Perf>
const Perf* pick(const Perf* perf, int count, bool tf32) {
    for (int i = 0; i < count; ++i) {
        const Perf& p = perf[i];
        if (p.status != CUDNN_STATUS_SUCCESS) continue;
        if (p.memory > kWorkspaceLimit) continue;
        if (deterministic_enabled() && p.determinism != CUDNN_DETERMINISTIC) continue;
        // Never let cuDNN convert float32 data to half precision; TF32 only when allowed.
        if (p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
        if (!tf32 && p.mathType == CUDNN_TENSOR_OP_MATH) continue;
        return &p;
    }
    return nullptr;
}

// Workspace offered to a benchmark search: what the usable heuristic candidates need, capped.
constexpr std::size_t kFindWorkspaceLimit = std::size_t(512) << 20;
template <class Perf>
std::size_t search_workspace(const Perf* perf, int count) {
    std::size_t m = 0;
    for (int i = 0; i < count; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kFindWorkspaceLimit)
            m = std::max(m, perf[i].memory);
    return m;
}

[[noreturn]] void no_algo(const char* dir, const Shape& x, const Shape& w) {
    throw Error(fmt::format("conv2d {} on CUDA: cuDNN offers no usable algorithm for input {} weight {} "
                            "(deterministic={}, workspace limit {} MiB)",
                            dir, shape_str(x), shape_str(w), deterministic_enabled(), kWorkspaceLimit >> 20));
}

}  // namespace

void CudaBackend::conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p) {
    if (y.numel() == 0) return;
    if (!conv_cache_) conv_cache_ = new ConvCache();
    std::lock_guard<std::mutex> lock(conv_cache_->mutex);
    DType t = y.dtype();
    bool tf32 = t == DType::f32 && tf32_enabled();
    ConvEntry& e = conv_entry(*conv_cache_, t, x.shape(), w.shape(), y.shape(), p);
    if (!e.have_fwd) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        int got = 0;
        DCODR_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(cudnn_, e.x, e.w, e.conv[0], e.y,
                                                                 CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
        const auto* best = pick(perf, got, tf32);
        cudnnConvolutionFwdAlgoPerf_t found[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        if (cudnn_benchmark()) {  // times the candidates, writing into y (overwritten below)
            std::size_t ws_try = search_workspace(perf, got);
            int nf = 0;
            DCODR_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
                cudnn_, e.x, x.raw_data(), e.w, w.raw_data(), e.conv[0], e.y, y.raw_data(),
                CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &nf, found, workspace(ws_try), ws_try));
            if (const auto* f = pick(found, nf, tf32)) best = f;
        }
        if (!best) no_algo("forward", x.shape(), w.shape());
        e.fwd = best->algo;
        if (tf32) DCODR_CUDNN_CHECK(cudnnSetConvolutionMathType(e.conv[0], best->mathType));  // else stays FMA
        DCODR_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(cudnn_, e.x, e.w, e.conv[0], e.y, e.fwd, &e.ws_fwd));
        e.have_fwd = true;
    }
    Scalars s(1.0, 0.0);
    void* ws = workspace(e.ws_fwd);
    DCODR_CUDNN_CHECK(cudnnConvolutionForward(cudnn_, s.alpha(t), e.x, x.raw_data(), e.w, w.raw_data(), e.conv[0],
                                              e.fwd, ws, e.ws_fwd, s.beta(t), e.y, y.raw_data()));
}

void CudaBackend::conv2d_backward_data(const Tensor& gy, const Tensor& w, Tensor& gx, const Conv2dParams& p) {
    if (gx.numel() == 0) return;
    if (!conv_cache_) conv_cache_ = new ConvCache();
    std::lock_guard<std::mutex> lock(conv_cache_->mutex);
    DType t = gx.dtype();
    bool tf32 = t == DType::f32 && tf32_enabled();
    ConvEntry& e = conv_entry(*conv_cache_, t, gx.shape(), w.shape(), gy.shape(), p);
    if (!e.have_bwd_data) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        int got = 0;
        DCODR_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
            cudnn_, e.w, e.y, e.conv[1], e.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf));
        const auto* best = pick(perf, got, tf32);
        cudnnConvolutionBwdDataAlgoPerf_t found[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        if (cudnn_benchmark()) {  // writes into gx (overwritten below)
            std::size_t ws_try = search_workspace(perf, got);
            int nf = 0;
            DCODR_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(
                cudnn_, e.w, w.raw_data(), e.y, gy.raw_data(), e.conv[1], e.x, gx.raw_data(),
                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &nf, found, workspace(ws_try), ws_try));
            if (const auto* f = pick(found, nf, tf32)) best = f;
        }
        if (!best) no_algo("backward data", gx.shape(), w.shape());
        e.bwd_data = best->algo;
        if (tf32) DCODR_CUDNN_CHECK(cudnnSetConvolutionMathType(e.conv[1], best->mathType));  // else stays FMA
        DCODR_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn_, e.w, e.y, e.conv[1], e.x, e.bwd_data,
                                                                       &e.ws_bwd_data));
        e.have_bwd_data = true;
    }
    Scalars s(1.0, 0.0);
    void* ws = workspace(e.ws_bwd_data);
    DCODR_CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn_, s.alpha(t), e.w, w.raw_data(), e.y, gy.raw_data(),
                                                   e.conv[1], e.bwd_data, ws, e.ws_bwd_data, s.beta(t), e.x,
                                                   gx.raw_data()));
}

void CudaBackend::conv2d_backward_filter(const Tensor& x, const Tensor& gy, Tensor& gw, const Conv2dParams& p) {
    if (gw.numel() == 0) return;
    if (gy.numel() == 0) {  // before conv_entry: cuDNN rejects descriptors with a zero dim (N = 0)
        fill(gw, 0.0);
        return;
    }
    if (!conv_cache_) conv_cache_ = new ConvCache();
    std::lock_guard<std::mutex> lock(conv_cache_->mutex);
    DType t = gw.dtype();
    bool tf32 = t == DType::f32 && tf32_enabled();
    ConvEntry& e = conv_entry(*conv_cache_, t, x.shape(), gw.shape(), gy.shape(), p);
    if (!e.have_bwd_filter) {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        int got = 0;
        DCODR_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
            cudnn_, e.x, e.y, e.conv[2], e.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, perf));
        const auto* best = pick(perf, got, tf32);
        cudnnConvolutionBwdFilterAlgoPerf_t found[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        if (cudnn_benchmark()) {  // writes into gw (overwritten below)
            std::size_t ws_try = search_workspace(perf, got);
            int nf = 0;
            DCODR_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(
                cudnn_, e.x, x.raw_data(), e.y, gy.raw_data(), e.conv[2], e.w, gw.raw_data(),
                CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &nf, found, workspace(ws_try), ws_try));
            if (const auto* f = pick(found, nf, tf32)) best = f;
        }
        if (!best) no_algo("backward filter", x.shape(), gw.shape());
        e.bwd_filter = best->algo;
        if (tf32) DCODR_CUDNN_CHECK(cudnnSetConvolutionMathType(e.conv[2], best->mathType));  // else stays FMA
        DCODR_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn_, e.x, e.y, e.conv[2], e.w,
                                                                         e.bwd_filter, &e.ws_bwd_filter));
        e.have_bwd_filter = true;
    }
    Scalars s(1.0, 0.0);
    void* ws = workspace(e.ws_bwd_filter);
    DCODR_CUDNN_CHECK(cudnnConvolutionBackwardFilter(cudnn_, s.alpha(t), e.x, x.raw_data(), e.y, gy.raw_data(),
                                                     e.conv[2], e.bwd_filter, ws, e.ws_bwd_filter, s.beta(t), e.w,
                                                     gw.raw_data()));
}

// Defined here, where ConvCache is complete.
CudaBackend::~CudaBackend() {
    // Backends live for the whole process; this runs only if one is deleted explicitly.
    (void)cudaStreamSynchronize(stream_);
    for (Staging& st : staging_) {
        if (st.host) cudaFreeHost(st.host);
        if (st.done) cudaEventDestroy(st.done);
    }
    if (workspace_) allocator_.deallocate(workspace_);
    allocator_.empty_cache();
    if (cudnn_) cudnnDestroy(cudnn_);
    if (cublas_) cublasDestroy(cublas_);
    if (stream_) cudaStreamDestroy(stream_);
}

}  // namespace dcodr::cuda
