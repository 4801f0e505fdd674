// CUDA simulator: cuDNN's legacy 2-D convolution API as reference loops, with cuDNN's argument
// rules, so that a backend passing a wrong descriptor, data type, algorithm or workspace fails
// here as it would on a GPU, instead of only on one.
//
// What the simulator does on purpose:
//  - Every algorithm runs the same loops (accumulating in double), so results never depend on
//    the algorithm, the math type or the benchmark's choice; algorithms differ only in their
//    workspace size, determinism flag and math type, which is what the backend selects on.
//  - The workspace an algorithm asks for is checked (present, large enough, device memory, not
//    overlapping an operand) and then overwritten with 0xAB bytes, so a caller that keeps live
//    data in it sees that data destroyed.
//  - beta == 0 means the destination is write-only (it may hold NaN): it is never read.
//  - Both convolution modes are supported: CUDNN_CROSS_CORRELATION, and CUDNN_CONVOLUTION,
//    which applies the filter flipped in both spatial dimensions.
//  - Only fully packed NCHW 4-D tensors and filters in float or double are computed. HALF and
//    the integer types may be stored in descriptors, as in cuDNN, but are NOT_SUPPORTED by the
//    convolution calls.
#include <cudnn.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace dcodr::cuda::sim {
bool is_device_pointer(const void* p);  // cuda/sim/runtime.cpp: inside a live cudaMalloc block
void count_library_call();              // cuda/sim/runtime.cpp (dcodr_sim/counters.h)
bool host_only();                       // same: checked and counted, not carried out
}

struct cudnnContext {
    cudaStream_t stream = nullptr;  // recorded only: the simulator runs every call synchronously
};
struct cudnnTensorStruct {
    bool set = false;
    cudnnDataType_t type = CUDNN_DATA_FLOAT;
    int n = 0, c = 0, h = 0, w = 0;
};
struct cudnnFilterStruct {
    bool set = false;
    cudnnDataType_t type = CUDNN_DATA_FLOAT;
    int k = 0, c = 0, h = 0, w = 0;
};
struct cudnnConvolutionStruct {
    bool set = false;  // by cudnnSetConvolution2dDescriptor; group count and math type have defaults
    int pad_h = 0, pad_w = 0, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    int groups = 1;
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

namespace {

using dcodr::cuda::sim::is_device_pointer;

// ---------------------------------------------------------------- live objects

// Every handle and descriptor is registered while it lives, so that a destroyed or never
// created one is rejected instead of read (real cuDNN would read freed memory).
enum class Kind { handle, tensor, filter, conv };
std::mutex g_live_mutex;
std::unordered_map<const void*, Kind> g_live;

bool is_live(const void* p, Kind k) {
    std::lock_guard<std::mutex> lock(g_live_mutex);
    auto it = g_live.find(p);
    return it != g_live.end() && it->second == k;
}

template <class T>
cudnnStatus_t create(T** out, Kind k) {
    if (!out) return CUDNN_STATUS_BAD_PARAM;
    T* p = new T();
    std::lock_guard<std::mutex> lock(g_live_mutex);
    g_live[p] = k;
    *out = p;
    return CUDNN_STATUS_SUCCESS;
}

template <class T>
cudnnStatus_t destroy(T* p, Kind k) {
    if (!p) return CUDNN_STATUS_SUCCESS;  // like free(NULL)
    {
        std::lock_guard<std::mutex> lock(g_live_mutex);
        auto it = g_live.find(p);
        if (it == g_live.end() || it->second != k) return CUDNN_STATUS_BAD_PARAM;  // double destroy
        g_live.erase(it);
    }
    delete p;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t check_handle(cudnnHandle_t h) {
    if (!h) return CUDNN_STATUS_BAD_PARAM;
    return is_live(h, Kind::handle) ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_INITIALIZED;
}
bool usable(const cudnnTensorStruct* t) { return t && is_live(t, Kind::tensor) && t->set; }
bool usable(const cudnnFilterStruct* f) { return f && is_live(f, Kind::filter) && f->set; }
bool usable(const cudnnConvolutionStruct* c) { return c && is_live(c, Kind::conv) && c->set; }

// ---------------------------------------------------------------- descriptor values

bool known_type(cudnnDataType_t t) { return t >= CUDNN_DATA_FLOAT && t <= CUDNN_DATA_INT64; }
bool computed_type(cudnnDataType_t t) { return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_DOUBLE; }
std::size_t type_size(cudnnDataType_t t) { return t == CUDNN_DATA_DOUBLE ? 8 : 4; }

// Shared by tensors and filters: packed NCHW only, positive dims, at most 2^31 - 1 elements.
cudnnStatus_t check_4d(cudnnTensorFormat_t format, cudnnDataType_t type, int a, int b, int c, int d) {
    if (format == CUDNN_TENSOR_NHWC || format == CUDNN_TENSOR_NCHW_VECT_C) return CUDNN_STATUS_NOT_SUPPORTED;
    if (format != CUDNN_TENSOR_NCHW || !known_type(type)) return CUDNN_STATUS_BAD_PARAM;
    if (a <= 0 || b <= 0 || c <= 0 || d <= 0) return CUDNN_STATUS_BAD_PARAM;
    if (double(a) * b * c * d > INT_MAX) return CUDNN_STATUS_NOT_SUPPORTED;
    return CUDNN_STATUS_SUCCESS;
}

// ---------------------------------------------------------------- geometry

// One convolution, validated: input N×C×H×W, filter K×Cg×R×S with C = G·Cg, output N×K×P×Q.
struct Geometry {
    cudnnDataType_t type = CUDNN_DATA_FLOAT;
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
    int N = 0, C = 0, H = 0, W = 0, K = 0, Cg = 0, R = 0, S = 0, P = 0, Q = 0, G = 1;
    int pad_h = 0, pad_w = 0, str_h = 1, str_w = 1, dil_h = 1, dil_w = 1;
    bool flip = false;  // CUDNN_CONVOLUTION: filter tap (r, s) meets input tap (R-1-r, S-1-s)
    std::size_t x_count() const { return std::size_t(N) * C * H * W; }
    std::size_t w_count() const { return std::size_t(K) * Cg * R * S; }
    std::size_t y_count() const { return std::size_t(N) * K * P * Q; }
    std::size_t elem() const { return type_size(type); }
};

// out = (in + 2·pad − dil·(k − 1) − 1) / stride + 1, as cudnnGetConvolution2dForwardOutputDim documents.
int out_dim(int in, int pad, int k, int dil, int stride) {
    std::int64_t span = std::int64_t(in) + 2 * std::int64_t(pad) - std::int64_t(dil) * (k - 1) - 1;
    if (span < 0) return 0;  // the dilated filter is larger than the padded input
    std::int64_t out = span / stride + 1;
    return out > INT_MAX ? 0 : static_cast<int>(out);
}

// The part of the geometry that x, w and conv determine (what OutputDim reports).
cudnnStatus_t shape(const cudnnConvolutionStruct* conv, const cudnnTensorStruct* x, const cudnnFilterStruct* w,
                    Geometry* g) {
    if (!usable(conv) || !usable(x) || !usable(w)) return CUDNN_STATUS_BAD_PARAM;
    if (x->c != w->c * conv->groups || w->k % conv->groups != 0) return CUDNN_STATUS_BAD_PARAM;
    g->type = x->type;
    g->math = conv->math;
    g->N = x->n, g->C = x->c, g->H = x->h, g->W = x->w;
    g->K = w->k, g->Cg = w->c, g->R = w->h, g->S = w->w, g->G = conv->groups;
    g->pad_h = conv->pad_h, g->pad_w = conv->pad_w, g->str_h = conv->stride_h, g->str_w = conv->stride_w;
    g->dil_h = conv->dil_h, g->dil_w = conv->dil_w;
    g->flip = conv->mode == CUDNN_CONVOLUTION;
    // Keeps the loops' int index arithmetic (p·stride + r·dilation + pad) from overflowing.
    auto too_big = [](int in, int pad, int k, int dil) {
        return std::int64_t(in) + 2 * std::int64_t(pad) + std::int64_t(dil) * k > INT_MAX / 2;
    };
    if (too_big(g->H, g->pad_h, g->R, g->dil_h) || too_big(g->W, g->pad_w, g->S, g->dil_w))
        return CUDNN_STATUS_NOT_SUPPORTED;
    g->P = out_dim(g->H, g->pad_h, g->R, g->dil_h, g->str_h);
    g->Q = out_dim(g->W, g->pad_w, g->S, g->dil_w, g->str_w);
    if (g->P <= 0 || g->Q <= 0) return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

// The full (x, w, conv, y) quadruple every convolution call is made of.
cudnnStatus_t validate(const cudnnTensorStruct* x, const cudnnFilterStruct* w, const cudnnConvolutionStruct* conv,
                       const cudnnTensorStruct* y, Geometry* g) {
    if (!usable(y)) return CUDNN_STATUS_BAD_PARAM;
    if (cudnnStatus_t s = shape(conv, x, w, g); s != CUDNN_STATUS_SUCCESS) return s;
    if (x->type != w->type || x->type != y->type) return CUDNN_STATUS_BAD_PARAM;
    // cuDNN's FLOAT_CONFIG / DOUBLE_CONFIG: the compute type must be the data type.
    if (!computed_type(x->type) || conv->compute != x->type) return CUDNN_STATUS_NOT_SUPPORTED;
    if (y->n != g->N || y->c != g->K || y->h != g->P || y->w != g->Q) return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

// ---------------------------------------------------------------- reference loops

std::size_t at(int a, int b, int c, int d, int B, int C, int D) { return ((std::size_t(a) * B + b) * C + c) * D + d; }

// Writes alpha·acc (+ beta·prior unless beta == 0, so a NaN-filled destination stays unread).
template <class T>
void store(T& dst, double acc, double alpha, double beta) {
    double v = alpha * acc;
    if (beta != 0) v += beta * static_cast<double>(dst);
    dst = static_cast<T>(v);
}

// y[n,k,p,q] = Σ_{c,r,s} x[n, g·Cg + c, p·sh − ph + r'·dh, q·sw − pw + s'·dw] · w[k,c,r,s]
template <class T>
void forward(const Geometry& g, double alpha, const T* x, const T* w, double beta, T* y) {
    int Kg = g.K / g.G;
    for (int n = 0; n < g.N; ++n)
        for (int k = 0; k < g.K; ++k)
            for (int p = 0; p < g.P; ++p)
                for (int q = 0; q < g.Q; ++q) {
                    double acc = 0;
                    for (int c = 0; c < g.Cg; ++c)
                        for (int r = 0; r < g.R; ++r) {
                            int ih = p * g.str_h - g.pad_h + (g.flip ? g.R - 1 - r : r) * g.dil_h;
                            if (ih < 0 || ih >= g.H) continue;
                            for (int s = 0; s < g.S; ++s) {
                                int iw = q * g.str_w - g.pad_w + (g.flip ? g.S - 1 - s : s) * g.dil_w;
                                if (iw < 0 || iw >= g.W) continue;
                                acc += double(x[at(n, (k / Kg) * g.Cg + c, ih, iw, g.C, g.H, g.W)]) *
                                       double(w[at(k, c, r, s, g.Cg, g.R, g.S)]);
                            }
                        }
                    store(y[at(n, k, p, q, g.K, g.P, g.Q)], acc, alpha, beta);
                }
}

// dx[n,ci,h,w] = Σ over the outputs (k, p, q) and filter taps (r, s) that read x[n,ci,h,w].
// Gathered per dx element (not scattered), so each element is written exactly once.
template <class T>
void backward_data(const Geometry& g, double alpha, const T* w, const T* dy, double beta, T* dx) {
    int Kg = g.K / g.G;
    for (int n = 0; n < g.N; ++n)
        for (int ci = 0; ci < g.C; ++ci) {
            int grp = ci / g.Cg, c = ci % g.Cg;
            for (int ih = 0; ih < g.H; ++ih)
                for (int iw = 0; iw < g.W; ++iw) {
                    double acc = 0;
                    for (int k = grp * Kg; k < (grp + 1) * Kg; ++k)
                        for (int r = 0; r < g.R; ++r) {
                            // ih = p·sh − ph + r'·dh  ⇒  p = (ih + ph − r'·dh) / sh, when that divides.
                            int ps = ih + g.pad_h - (g.flip ? g.R - 1 - r : r) * g.dil_h;  // p·sh
                            if (ps < 0 || ps % g.str_h != 0 || ps / g.str_h >= g.P) continue;
                            for (int s = 0; s < g.S; ++s) {
                                int qs = iw + g.pad_w - (g.flip ? g.S - 1 - s : s) * g.dil_w;  // q·sw
                                if (qs < 0 || qs % g.str_w != 0 || qs / g.str_w >= g.Q) continue;
                                acc += double(dy[at(n, k, ps / g.str_h, qs / g.str_w, g.K, g.P, g.Q)]) *
                                       double(w[at(k, c, r, s, g.Cg, g.R, g.S)]);
                            }
                        }
                    store(dx[at(n, ci, ih, iw, g.C, g.H, g.W)], acc, alpha, beta);
                }
        }
}

// dw[k,c,r,s] = Σ_{n,p,q} dy[n,k,p,q] · x[n, g·Cg + c, p·sh − ph + r'·dh, q·sw − pw + s'·dw]
template <class T>
void backward_filter(const Geometry& g, double alpha, const T* x, const T* dy, double beta, T* dw) {
    int Kg = g.K / g.G;
    for (int k = 0; k < g.K; ++k)
        for (int c = 0; c < g.Cg; ++c) {
            int ci = (k / Kg) * g.Cg + c;
            for (int r = 0; r < g.R; ++r)
                for (int s = 0; s < g.S; ++s) {
                    int tr = g.flip ? g.R - 1 - r : r, ts = g.flip ? g.S - 1 - s : s;
                    double acc = 0;
                    for (int n = 0; n < g.N; ++n)
                        for (int p = 0; p < g.P; ++p) {
                            int ih = p * g.str_h - g.pad_h + tr * g.dil_h;
                            if (ih < 0 || ih >= g.H) continue;
                            for (int q = 0; q < g.Q; ++q) {
                                int iw = q * g.str_w - g.pad_w + ts * g.dil_w;
                                if (iw < 0 || iw >= g.W) continue;
                                acc += double(dy[at(n, k, p, q, g.K, g.P, g.Q)]) *
                                       double(x[at(n, ci, ih, iw, g.C, g.H, g.W)]);
                            }
                        }
                    store(dw[at(k, c, r, s, g.Cg, g.R, g.S)], acc, alpha, beta);
                }
        }
}

// ---------------------------------------------------------------- directions and algorithms

// Operands by direction: forward (a = x, b = w, out = y), backward data (a = w, b = dy,
// out = dx), backward filter (a = x, b = dy, out = dw).
enum class Dir { fwd, bwd_data, bwd_filter };

struct Sizes {
    std::size_t a, b, out;  // bytes
};
Sizes sizes(Dir d, const Geometry& g) {
    std::size_t e = g.elem();
    switch (d) {
        case Dir::fwd: return {g.x_count() * e, g.w_count() * e, g.y_count() * e};
        case Dir::bwd_data: return {g.w_count() * e, g.y_count() * e, g.x_count() * e};
        default: return {g.x_count() * e, g.y_count() * e, g.w_count() * e};
    }
}

template <class T>
void execute(Dir d, const Geometry& g, double alpha, const void* a, const void* b, double beta, void* out) {
    const T* A = static_cast<const T*>(a);
    const T* B = static_cast<const T*>(b);
    T* O = static_cast<T*>(out);
    if (d == Dir::fwd) forward(g, alpha, A, B, beta, O);
    else if (d == Dir::bwd_data) backward_data(g, alpha, A, B, beta, O);
    else backward_filter(g, alpha, A, B, beta, O);
}
void execute(Dir d, const Geometry& g, double alpha, const void* a, const void* b, double beta, void* out) {
    if (g.type == CUDNN_DATA_DOUBLE) execute<double>(d, g, alpha, a, b, beta, out);
    else execute<float>(d, g, alpha, a, b, beta, out);
}

int algo_count(Dir d) {
    switch (d) {
        case Dir::fwd: return CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
        case Dir::bwd_data: return CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
        default: return CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
    }
}

// The workspace of each algorithm the simulator offers, shaped like the real kernels' needs;
// it depends on the algorithm and the geometry only (not on the math type), so the heuristic
// lists, the benchmark and Get*WorkspaceSize always agree.
cudnnStatus_t workspace_bytes(Dir d, int algo, const Geometry& g, std::size_t* bytes) {
    if (algo < 0 || algo >= algo_count(d)) return CUDNN_STATUS_BAD_PARAM;
    std::size_t taps = std::size_t(g.Cg) * g.R * g.S, e = g.elem();
    switch (d) {
        case Dir::fwd:
            if (algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM) return *bytes = 0, CUDNN_STATUS_SUCCESS;
            // Precomputed input offsets, one per filter tap.
            if (algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
                return *bytes = 4096 + sizeof(int) * taps, CUDNN_STATUS_SUCCESS;
            // One image-and-group im2col matrix.
            if (algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM)
                return *bytes = e * taps * g.P * g.Q, CUDNN_STATUS_SUCCESS;
            break;
        case Dir::bwd_data:
            if (algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0) return *bytes = 0, CUDNN_STATUS_SUCCESS;
            // A transposed copy of the filter.
            if (algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1) return *bytes = 4096 + e * g.K * taps, CUDNN_STATUS_SUCCESS;
            break;
        case Dir::bwd_filter:
            if (algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0) return *bytes = 0, CUDNN_STATUS_SUCCESS;
            // Per-block partial sums, reduced in a fixed order (hence deterministic).
            if (algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1)
                return *bytes = 4096 + e * g.K * taps, CUDNN_STATUS_SUCCESS;
            if (algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3) return *bytes = 2 * e * g.K * taps, CUDNN_STATUS_SUCCESS;
            break;
    }
    return CUDNN_STATUS_NOT_SUPPORTED;  // a real algorithm the simulator does not offer
}

struct Candidate {
    int algo;
    cudnnMathType_t math;
    cudnnDeterminism_t det;
    double cost;  // relative to the direct loop; scales the heuristic's time estimate
};

// The heuristic list, in preference order. Tensor-op variants come last and only for float
// data with a math type that allows them (never under CUDNN_FMA_MATH), as in cuDNN; under
// CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION they are reported with that math type.
std::vector<Candidate> candidates(Dir d, const Geometry& g) {
    std::vector<Candidate> c;
    const auto det = CUDNN_DETERMINISTIC, nondet = CUDNN_NON_DETERMINISTIC;
    int tensor_op_algo = 0;
    if (d == Dir::fwd) {
        c.push_back({CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_FMA_MATH, det, 1.0});
        c.push_back({CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_FMA_MATH, det, 0.8});
        c.push_back({CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_FMA_MATH, det, 1.5});
        tensor_op_algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    } else if (d == Dir::bwd_data) {
        c.push_back({CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, CUDNN_FMA_MATH, nondet, 1.0});
        c.push_back({CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_FMA_MATH, det, 1.2});
        tensor_op_algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    } else {
        c.push_back({CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_FMA_MATH, nondet, 1.0});
        c.push_back({CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_FMA_MATH, det, 1.3});
        c.push_back({CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, CUDNN_FMA_MATH, nondet, 1.1});
        tensor_op_algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    }
    if (g.type == CUDNN_DATA_FLOAT && g.math != CUDNN_FMA_MATH) {
        cudnnMathType_t m = g.math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION ? g.math : CUDNN_TENSOR_OP_MATH;
        c.push_back({tensor_op_algo, m, det, 0.5});
    }
    return c;
}

// Heuristic time estimate in milliseconds: the multiply-adds at a nominal 1 TFLOP/s.
float estimate_ms(const Geometry& g, double cost) {
    double flops = 2.0 * double(g.y_count()) * g.Cg * g.R * g.S;
    return static_cast<float>(cost * flops / 1e9);
}

template <class Perf>
Perf make_perf(const Candidate& c, cudnnStatus_t status, float time, std::size_t memory) {
    Perf p{};
    p.algo = static_cast<decltype(p.algo)>(c.algo);
    p.status = status;
    p.time = time;
    p.memory = memory;
    p.determinism = c.det;
    p.mathType = c.math;
    return p;
}

// ---------------------------------------------------------------- pointer checks

double scalar(const void* p, cudnnDataType_t t) {
    return t == CUDNN_DATA_DOUBLE ? *static_cast<const double*>(p) : double(*static_cast<const float*>(p));
}

// Non-null, and both ends inside live simulated device memory.
bool device_range(const void* p, std::size_t bytes) {
    if (!p || !is_device_pointer(p)) return false;
    return bytes == 0 || is_device_pointer(static_cast<const char*>(p) + bytes - 1);
}

bool overlap(const void* a, std::size_t an, const void* b, std::size_t bn) {
    if (!a || !b || an == 0 || bn == 0) return false;
    auto x = reinterpret_cast<std::uintptr_t>(a), y = reinterpret_cast<std::uintptr_t>(b);
    return x < y + bn && y < x + an;
}

// The tensors of one call: device memory, and the output not aliasing an input (cuDNN's
// convolutions are not in-place; on a GPU that gives silently wrong results).
cudnnStatus_t check_operands(Dir d, const Geometry& g, const void* a, const void* b, const void* out) {
    Sizes z = sizes(d, g);
    if (!device_range(a, z.a) || !device_range(b, z.b) || !device_range(out, z.out)) return CUDNN_STATUS_BAD_PARAM;
    if (overlap(out, z.out, a, z.a) || overlap(out, z.out, b, z.b)) return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

// A workspace the caller offers: device memory when non-empty, apart from every operand.
cudnnStatus_t check_workspace(Dir d, const Geometry& g, const void* a, const void* b, const void* out,
                              const void* ws, std::size_t ws_bytes) {
    if (ws_bytes == 0) return CUDNN_STATUS_SUCCESS;
    if (!device_range(ws, ws_bytes)) return CUDNN_STATUS_BAD_PARAM;
    Sizes z = sizes(d, g);
    if (overlap(ws, ws_bytes, a, z.a) || overlap(ws, ws_bytes, b, z.b) || overlap(ws, ws_bytes, out, z.out))
        return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

// ---------------------------------------------------------------- the three entry points' bodies

cudnnStatus_t convolve(Dir d, const Geometry& g, int algo, const void* alpha, const void* a,
                       const void* b, const void* beta, void* out, void* ws, std::size_t ws_bytes) {
    if (!alpha || !beta) return CUDNN_STATUS_BAD_PARAM;
    if (cudnnStatus_t s = check_operands(d, g, a, b, out); s != CUDNN_STATUS_SUCCESS) return s;
    std::size_t need = 0;
    if (cudnnStatus_t s = workspace_bytes(d, algo, g, &need); s != CUDNN_STATUS_SUCCESS) return s;
    if (need > 0 && (!ws || ws_bytes < need)) return CUDNN_STATUS_BAD_PARAM;
    if (cudnnStatus_t s = check_workspace(d, g, a, b, out, ws, ws_bytes); s != CUDNN_STATUS_SUCCESS) return s;
    dcodr::cuda::sim::count_library_call();
    if (dcodr::cuda::sim::host_only()) return CUDNN_STATUS_SUCCESS;
    if (need > 0) std::memset(ws, 0xAB, need);
    execute(d, g, scalar(alpha, g.type), a, b, scalar(beta, g.type), out);
    return CUDNN_STATUS_SUCCESS;
}

template <class Perf>
cudnnStatus_t heuristics(Dir d, cudnnHandle_t h, cudnnStatus_t valid, const Geometry& g, int requested,
                         int* returned, Perf* perf) {
    if (cudnnStatus_t s = check_handle(h); s != CUDNN_STATUS_SUCCESS) return s;
    if (valid != CUDNN_STATUS_SUCCESS) return valid;
    if (requested <= 0 || !returned || !perf) return CUDNN_STATUS_BAD_PARAM;
    std::vector<Candidate> list = candidates(d, g);
    int n = std::min<int>(requested, static_cast<int>(list.size()));
    for (int i = 0; i < n; ++i) {
        std::size_t mem = 0;
        workspace_bytes(d, list[i].algo, g, &mem);
        perf[i] = make_perf<Perf>(list[i], CUDNN_STATUS_SUCCESS, estimate_ms(g, list[i].cost), mem);
    }
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}

// Runs every candidate (alpha = 1, beta = 0, into the caller's output) and reports them
// fastest first; a candidate whose workspace exceeds the one offered is not run and is
// reported last with CUDNN_STATUS_ALLOC_FAILED and time -1, as cuDNN does.
template <class Perf>
cudnnStatus_t benchmark(Dir d, cudnnHandle_t h, cudnnStatus_t valid, const Geometry& g, const void* a,
                        const void* b, void* out, int requested, int* returned, Perf* perf, void* ws,
                        std::size_t ws_bytes) {
    if (cudnnStatus_t s = check_handle(h); s != CUDNN_STATUS_SUCCESS) return s;
    if (valid != CUDNN_STATUS_SUCCESS) return valid;
    if (requested <= 0 || !returned || !perf) return CUDNN_STATUS_BAD_PARAM;
    if (cudnnStatus_t s = check_operands(d, g, a, b, out); s != CUDNN_STATUS_SUCCESS) return s;
    if (cudnnStatus_t s = check_workspace(d, g, a, b, out, ws, ws_bytes); s != CUDNN_STATUS_SUCCESS) return s;
    std::vector<Perf> results;
    for (const Candidate& c : candidates(d, g)) {
        std::size_t need = 0;
        workspace_bytes(d, c.algo, g, &need);
        if (need > ws_bytes) {
            results.push_back(make_perf<Perf>(c, CUDNN_STATUS_ALLOC_FAILED, -1.0f, need));
            continue;
        }
        auto t0 = std::chrono::steady_clock::now();
        if (need > 0) std::memset(ws, 0xAB, need);
        execute(d, g, 1.0, a, b, 0.0, out);
        std::chrono::duration<float, std::milli> ms = std::chrono::steady_clock::now() - t0;
        results.push_back(make_perf<Perf>(c, CUDNN_STATUS_SUCCESS, ms.count(), need));
    }
    std::stable_sort(results.begin(), results.end(), [](const Perf& x, const Perf& y) {
        bool xs = x.status == CUDNN_STATUS_SUCCESS, ys = y.status == CUDNN_STATUS_SUCCESS;
        if (xs != ys) return xs;
        return xs && x.time < y.time;
    });
    int n = std::min<int>(requested, static_cast<int>(results.size()));
    std::copy(results.begin(), results.begin() + n, perf);
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t workspace_size(Dir d, cudnnHandle_t h, cudnnStatus_t valid, const Geometry& g, int algo,
                             std::size_t* bytes) {
    if (cudnnStatus_t s = check_handle(h); s != CUDNN_STATUS_SUCCESS) return s;
    if (valid != CUDNN_STATUS_SUCCESS) return valid;
    if (!bytes) return CUDNN_STATUS_BAD_PARAM;
    return workspace_bytes(d, algo, g, bytes);
}

}  // namespace

// ---------------------------------------------------------------- handle

std::size_t cudnnGetVersion(void) { return CUDNN_VERSION; }

const char* cudnnGetErrorString(cudnnStatus_t status) {
    switch (status) {
        case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
        case CUDNN_STATUS_NOT_INITIALIZED: return "CUDNN_STATUS_NOT_INITIALIZED";
        case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
        case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
        case CUDNN_STATUS_INTERNAL_ERROR: return "CUDNN_STATUS_INTERNAL_ERROR";
        case CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED:
            return "CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED";
        case CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED:
            return "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED";
        case CUDNN_STATUS_EXECUTION_FAILED: return "CUDNN_STATUS_EXECUTION_FAILED";
    }
    return "CUDNN_UNKNOWN_STATUS_FOUND";
}

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) { return create(handle, Kind::handle); }

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
    if (cudnnStatus_t s = check_handle(handle); s != CUDNN_STATUS_SUCCESS) return s;
    return destroy(handle, Kind::handle);
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId) {
    if (cudnnStatus_t s = check_handle(handle); s != CUDNN_STATUS_SUCCESS) return s;
    handle->stream = streamId;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetStream(cudnnHandle_t handle, cudaStream_t* streamId) {
    if (cudnnStatus_t s = check_handle(handle); s != CUDNN_STATUS_SUCCESS) return s;
    if (!streamId) return CUDNN_STATUS_BAD_PARAM;
    *streamId = handle->stream;
    return CUDNN_STATUS_SUCCESS;
}

// ---------------------------------------------------------------- descriptors

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* d) { return create(d, Kind::tensor); }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { return destroy(d, Kind::tensor); }

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t format,
                                         cudnnDataType_t dataType, int n, int c, int h, int w) {
    if (!d || !is_live(d, Kind::tensor)) return CUDNN_STATUS_BAD_PARAM;
    if (cudnnStatus_t s = check_4d(format, dataType, n, c, h, w); s != CUDNN_STATUS_SUCCESS) return s;
    *d = {true, dataType, n, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* d) { return create(d, Kind::filter); }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) { return destroy(d, Kind::filter); }

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t dataType,
                                         cudnnTensorFormat_t format, int k, int c, int h, int w) {
    if (!d || !is_live(d, Kind::filter)) return CUDNN_STATUS_BAD_PARAM;
    if (cudnnStatus_t s = check_4d(format, dataType, k, c, h, w); s != CUDNN_STATUS_SUCCESS) return s;
    *d = {true, dataType, k, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* d) { return create(d, Kind::conv); }
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) { return destroy(d, Kind::conv); }

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
                                              int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t computeType) {
    if (!d || !is_live(d, Kind::conv)) return CUDNN_STATUS_BAD_PARAM;
    if (pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0)
        return CUDNN_STATUS_BAD_PARAM;
    if ((mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION) || !known_type(computeType))
        return CUDNN_STATUS_BAD_PARAM;
    d->set = true;
    d->pad_h = pad_h, d->pad_w = pad_w, d->stride_h = u, d->stride_w = v;
    d->dil_h = dilation_h, d->dil_w = dilation_w, d->mode = mode, d->compute = computeType;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int groupCount) {
    if (!d || !is_live(d, Kind::conv) || groupCount <= 0) return CUDNN_STATUS_BAD_PARAM;
    d->groups = groupCount;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t mathType) {
    if (!d || !is_live(d, Kind::conv)) return CUDNN_STATUS_BAD_PARAM;
    if (mathType < CUDNN_DEFAULT_MATH || mathType > CUDNN_FMA_MATH) return CUDNN_STATUS_BAD_PARAM;
    d->math = mathType;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc,
                                                    const cudnnTensorDescriptor_t inputTensorDesc,
                                                    const cudnnFilterDescriptor_t filterDesc, int* n, int* c, int* h,
                                                    int* w) {
    if (!n || !c || !h || !w) return CUDNN_STATUS_BAD_PARAM;
    Geometry g;
    if (cudnnStatus_t s = shape(convDesc, inputTensorDesc, filterDesc, &g); s != CUDNN_STATUS_SUCCESS) return s;
    *n = g.N, *c = g.K, *h = g.P, *w = g.Q;
    return CUDNN_STATUS_SUCCESS;
}

// ---------------------------------------------------------------- forward

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                     const cudnnFilterDescriptor_t filterDesc,
                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                     const cudnnTensorDescriptor_t destDesc,
                                                     const int requestedAlgoCount, int* returnedAlgoCount,
                                                     cudnnConvolutionFwdAlgoPerf_t* perfResults) {
    Geometry g;
    cudnnStatus_t v = validate(srcDesc, filterDesc, convDesc, destDesc, &g);
    return heuristics(Dir::fwd, handle, v, g, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                     const void* x, const cudnnFilterDescriptor_t wDesc,
                                                     const void* w, const cudnnConvolutionDescriptor_t convDesc,
                                                     const cudnnTensorDescriptor_t yDesc, void* y,
                                                     const int requestedAlgoCount, int* returnedAlgoCount,
                                                     cudnnConvolutionFwdAlgoPerf_t* perfResults, void* workSpace,
                                                     std::size_t workSpaceSizeInBytes) {
    Geometry g;
    cudnnStatus_t v = validate(xDesc, wDesc, convDesc, yDesc, &g);
    return benchmark(Dir::fwd, handle, v, g, x, w, y, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace,
                     workSpaceSizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                      const cudnnFilterDescriptor_t wDesc,
                                                      const cudnnConvolutionDescriptor_t convDesc,
                                                      const cudnnTensorDescriptor_t yDesc,
                                                      cudnnConvolutionFwdAlgo_t algo, std::size_t* sizeInBytes) {
    Geometry g;
    cudnnStatus_t v = validate(xDesc, wDesc, convDesc, yDesc, &g);
    return workspace_size(Dir::fwd, handle, v, g, algo, sizeInBytes);
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,
                                      const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,
                                      const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
                                      void* workSpace, std::size_t workSpaceSizeInBytes, const void* beta,
                                      const cudnnTensorDescriptor_t yDesc, void* y) {
    if (cudnnStatus_t s = check_handle(handle); s != CUDNN_STATUS_SUCCESS) return s;
    Geometry g;
    if (cudnnStatus_t s = validate(xDesc, wDesc, convDesc, yDesc, &g); s != CUDNN_STATUS_SUCCESS) return s;
    return convolve(Dir::fwd, g, algo, alpha, x, w, beta, y, workSpace, workSpaceSizeInBytes);
}

// ---------------------------------------------------------------- backward data

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle,
                                                          const cudnnFilterDescriptor_t filterDesc,
                                                          const cudnnTensorDescriptor_t diffDesc,
                                                          const cudnnConvolutionDescriptor_t convDesc,
                                                          const cudnnTensorDescriptor_t gradDesc,
                                                          const int requestedAlgoCount, int* returnedAlgoCount,
                                                          cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
    Geometry g;
    cudnnStatus_t v = validate(gradDesc, filterDesc, convDesc, diffDesc, &g);
    return heuristics(Dir::bwd_data, handle, v, g, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                          const void* w, const cudnnTensorDescriptor_t dyDesc,
                                                          const void* dy, const cudnnConvolutionDescriptor_t convDesc,
                                                          const cudnnTensorDescriptor_t dxDesc, void* dx,
                                                          const int requestedAlgoCount, int* returnedAlgoCount,
                                                          cudnnConvolutionBwdDataAlgoPerf_t* perfResults,
                                                          void* workSpace, std::size_t workSpaceSizeInBytes) {
    Geometry g;
    cudnnStatus_t v = validate(dxDesc, wDesc, convDesc, dyDesc, &g);
    return benchmark(Dir::bwd_data, handle, v, g, w, dy, dx, requestedAlgoCount, returnedAlgoCount, perfResults,
                     workSpace, workSpaceSizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                           const cudnnTensorDescriptor_t dyDesc,
                                                           const cudnnConvolutionDescriptor_t convDesc,
                                                           const cudnnTensorDescriptor_t dxDesc,
                                                           cudnnConvolutionBwdDataAlgo_t algo,
                                                           std::size_t* sizeInBytes) {
    Geometry g;
    cudnnStatus_t v = validate(dxDesc, wDesc, convDesc, dyDesc, &g);
    return workspace_size(Dir::bwd_data, handle, v, g, algo, sizeInBytes);
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha,
                                           const cudnnFilterDescriptor_t wDesc, const void* w,
                                           const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                           const cudnnConvolutionDescriptor_t convDesc,
                                           cudnnConvolutionBwdDataAlgo_t algo, void* workSpace,
                                           std::size_t workSpaceSizeInBytes, const void* beta,
                                           const cudnnTensorDescriptor_t dxDesc, void* dx) {
    if (cudnnStatus_t s = check_handle(handle); s != CUDNN_STATUS_SUCCESS) return s;
    Geometry g;
    if (cudnnStatus_t s = validate(dxDesc, wDesc, convDesc, dyDesc, &g); s != CUDNN_STATUS_SUCCESS) return s;
    return convolve(Dir::bwd_data, g, algo, alpha, w, dy, beta, dx, workSpace, workSpaceSizeInBytes);
}

// ---------------------------------------------------------------- backward filter

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle,
                                                            const cudnnTensorDescriptor_t srcDesc,
                                                            const cudnnTensorDescriptor_t diffDesc,
                                                            const cudnnConvolutionDescriptor_t convDesc,
                                                            const cudnnFilterDescriptor_t gradDesc,
                                                            const int requestedAlgoCount, int* returnedAlgoCount,
                                                            cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
    Geometry g;
    cudnnStatus_t v = validate(srcDesc, gradDesc, convDesc, diffDesc, &g);
    return heuristics(Dir::bwd_filter, handle, v, g, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void* x, const cudnnTensorDescriptor_t dyDesc,
    const void* y, const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc, void* dw,
    const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults,
    void* workSpace, std::size_t workSpaceSizeInBytes) {
    Geometry g;
    cudnnStatus_t v = validate(xDesc, dwDesc, convDesc, dyDesc, &g);
    return benchmark(Dir::bwd_filter, handle, v, g, x, y, dw, requestedAlgoCount, returnedAlgoCount, perfResults,
                     workSpace, workSpaceSizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle,
                                                             const cudnnTensorDescriptor_t xDesc,
                                                             const cudnnTensorDescriptor_t dyDesc,
                                                             const cudnnConvolutionDescriptor_t convDesc,
                                                             const cudnnFilterDescriptor_t gradDesc,
                                                             cudnnConvolutionBwdFilterAlgo_t algo,
                                                             std::size_t* sizeInBytes) {
    Geometry g;
    cudnnStatus_t v = validate(xDesc, gradDesc, convDesc, dyDesc, &g);
    return workspace_size(Dir::bwd_filter, handle, v, g, algo, sizeInBytes);
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha,
                                             const cudnnTensorDescriptor_t xDesc, const void* x,
                                             const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                             const cudnnConvolutionDescriptor_t convDesc,
                                             cudnnConvolutionBwdFilterAlgo_t algo, void* workSpace,
                                             std::size_t workSpaceSizeInBytes, const void* beta,
                                             const cudnnFilterDescriptor_t dwDesc, void* dw) {
    if (cudnnStatus_t s = check_handle(handle); s != CUDNN_STATUS_SUCCESS) return s;
    Geometry g;
    if (cudnnStatus_t s = validate(xDesc, dwDesc, convDesc, dyDesc, &g); s != CUDNN_STATUS_SUCCESS) return s;
    return convolve(Dir::bwd_filter, g, algo, alpha, x, dy, beta, dw, workSpace, workSpaceSizeInBytes);
}
