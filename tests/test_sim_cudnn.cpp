// Standalone self-test of the simulator's cuDNN (cuda/sim/cudnn.cpp): results against an
// independent direct formula, adjointness of the three directions, alpha/beta, the algorithm
// lists and benchmarks, and the argument checks. Linked without the simulator's runtime (it
// defines the one runtime function cudnn.cpp calls), so its own main, not Catch2.
#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

// Stands in for the runtime fake's check: all memory counts as device memory except one
// range a test marks as host memory.
namespace {
const void* g_host_begin = nullptr;
std::size_t g_host_bytes = 0;
}  // namespace
namespace dcodr::cuda::sim {
bool is_device_pointer(const void* p) {
    auto a = reinterpret_cast<std::uintptr_t>(p), b = reinterpret_cast<std::uintptr_t>(g_host_begin);
    return !(g_host_begin && a >= b && a < b + g_host_bytes);
}
void count_library_call() {}
bool host_only() { return false; }
}  // namespace dcodr::cuda::sim

namespace {

int g_checks = 0, g_failures = 0;

#define CHECK(cond)                                                          \
    do {                                                                     \
        ++g_checks;                                                          \
        if (!(cond)) {                                                       \
            ++g_failures;                                                    \
            std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                    \
    } while (0)
#define CHECK_STATUS(expr, want)                                                                      \
    do {                                                                                              \
        cudnnStatus_t s_ = (expr);                                                                    \
        ++g_checks;                                                                                   \
        if (s_ != (want)) {                                                                           \
            ++g_failures;                                                                             \
            std::printf("FAIL %s:%d: %s gave %s, expected %s\n", __FILE__, __LINE__, #expr,          \
                        cudnnGetErrorString(s_), cudnnGetErrorString(want));                          \
        }                                                                                             \
    } while (0)
#define OK(expr) CHECK_STATUS(expr, CUDNN_STATUS_SUCCESS)

struct Conv {
    int N, C, H, W, K, R, S, G;
    int pad_h, pad_w, str_h, str_w, dil_h, dil_w;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    int Cg() const { return C / G; }
    int P() const { return (H + 2 * pad_h - dil_h * (R - 1) - 1) / str_h + 1; }
    int Q() const { return (W + 2 * pad_w - dil_w * (S - 1) - 1) / str_w + 1; }
    std::size_t xn() const { return std::size_t(N) * C * H * W; }
    std::size_t wn() const { return std::size_t(K) * Cg() * R * S; }
    std::size_t yn() const { return std::size_t(N) * K * P() * Q(); }
};

// The brief's odd shape: groups, a non-square kernel, stride, padding and dilation at once.
const Conv kMain{2, 6, 7, 5, 4, 3, 2, 2, 1, 0, 2, 1, 1, 2};
const Conv kOneByOne{3, 4, 5, 6, 5, 1, 1, 1, 0, 0, 1, 1, 1, 1};

struct Descs {
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    Descs(const Conv& c, cudnnDataType_t t, cudnnMathType_t math = CUDNN_FMA_MATH) {
        OK(cudnnCreateTensorDescriptor(&x));
        OK(cudnnCreateTensorDescriptor(&y));
        OK(cudnnCreateFilterDescriptor(&w));
        OK(cudnnCreateConvolutionDescriptor(&conv));
        OK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, t, c.N, c.C, c.H, c.W));
        OK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, t, c.N, c.K, c.P(), c.Q()));
        OK(cudnnSetFilter4dDescriptor(w, t, CUDNN_TENSOR_NCHW, c.K, c.Cg(), c.R, c.S));
        OK(cudnnSetConvolution2dDescriptor(conv, c.pad_h, c.pad_w, c.str_h, c.str_w, c.dil_h, c.dil_w, c.mode, t));
        OK(cudnnSetConvolutionGroupCount(conv, c.G));
        OK(cudnnSetConvolutionMathType(conv, math));
    }
    ~Descs() {
        OK(cudnnDestroyTensorDescriptor(x));
        OK(cudnnDestroyTensorDescriptor(y));
        OK(cudnnDestroyFilterDescriptor(w));
        OK(cudnnDestroyConvolutionDescriptor(conv));
    }
};

std::vector<double> random_values(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<double> v(n);
    for (double& e : v) e = u(gen);
    return v;
}
template <class T>
std::vector<T> cast(const std::vector<double>& v) {
    return std::vector<T>(v.begin(), v.end());
}

// ---------------------------------------------------------------- independent reference

// Explicitly padded input and explicitly flipped filter (for CUDNN_CONVOLUTION), then the
// textbook sums: forward gathers, backward data scatters into the padded buffer and crops.
struct Reference {
    const Conv& c;
    int Hp, Wp;
    explicit Reference(const Conv& cv) : c(cv), Hp(cv.H + 2 * cv.pad_h), Wp(cv.W + 2 * cv.pad_w) {}
    std::size_t xp_at(int n, int ch, int h, int w) const { return ((std::size_t(n) * c.C + ch) * Hp + h) * Wp + w; }
    std::size_t w_at(int k, int ch, int r, int s) const { return ((std::size_t(k) * c.Cg() + ch) * c.R + r) * c.S + s; }
    std::size_t y_at(int n, int k, int p, int q) const { return ((std::size_t(n) * c.K + k) * c.P() + p) * c.Q() + q; }
    std::size_t x_at(int n, int ch, int h, int w) const { return ((std::size_t(n) * c.C + ch) * c.H + h) * c.W + w; }
    // The filter as the sums apply it.
    std::size_t wf_at(int k, int ch, int r, int s) const {
        return c.mode == CUDNN_CONVOLUTION ? w_at(k, ch, c.R - 1 - r, c.S - 1 - s) : w_at(k, ch, r, s);
    }
    std::vector<double> pad(const std::vector<double>& x) const {
        std::vector<double> xp(std::size_t(c.N) * c.C * Hp * Wp, 0.0);
        for (int n = 0; n < c.N; ++n)
            for (int ch = 0; ch < c.C; ++ch)
                for (int h = 0; h < c.H; ++h)
                    for (int w = 0; w < c.W; ++w) xp[xp_at(n, ch, h + c.pad_h, w + c.pad_w)] = x[x_at(n, ch, h, w)];
        return xp;
    }
    template <class F>  // f(n, k, p, q, input channel, filter channel, padded row, padded col, r, s)
    void for_each_term(F f) const {
        int Kg = c.K / c.G;
        for (int n = 0; n < c.N; ++n)
            for (int k = 0; k < c.K; ++k)
                for (int p = 0; p < c.P(); ++p)
                    for (int q = 0; q < c.Q(); ++q)
                        for (int ch = 0; ch < c.Cg(); ++ch)
                            for (int r = 0; r < c.R; ++r)
                                for (int s = 0; s < c.S; ++s)
                                    f(n, k, p, q, (k / Kg) * c.Cg() + ch, ch, p * c.str_h + r * c.dil_h,
                                      q * c.str_w + s * c.dil_w, r, s);
    }
    std::vector<double> forward(const std::vector<double>& x, const std::vector<double>& w) const {
        std::vector<double> xp = pad(x), y(c.yn(), 0.0);
        for_each_term([&](int n, int k, int p, int q, int ci, int ch, int hp, int wp, int r, int s) {
            y[y_at(n, k, p, q)] += xp[xp_at(n, ci, hp, wp)] * w[wf_at(k, ch, r, s)];
        });
        return y;
    }
    std::vector<double> backward_data(const std::vector<double>& w, const std::vector<double>& dy) const {
        std::vector<double> dxp(std::size_t(c.N) * c.C * Hp * Wp, 0.0), dx(c.xn());
        for_each_term([&](int n, int k, int p, int q, int ci, int ch, int hp, int wp, int r, int s) {
            dxp[xp_at(n, ci, hp, wp)] += dy[y_at(n, k, p, q)] * w[wf_at(k, ch, r, s)];
        });
        for (int n = 0; n < c.N; ++n)
            for (int ch = 0; ch < c.C; ++ch)
                for (int h = 0; h < c.H; ++h)
                    for (int ww = 0; ww < c.W; ++ww)
                        dx[x_at(n, ch, h, ww)] = dxp[xp_at(n, ch, h + c.pad_h, ww + c.pad_w)];
        return dx;
    }
    std::vector<double> backward_filter(const std::vector<double>& x, const std::vector<double>& dy) const {
        std::vector<double> xp = pad(x), dw(c.wn(), 0.0);
        for_each_term([&](int n, int k, int p, int q, int ci, int ch, int hp, int wp, int r, int s) {
            dw[wf_at(k, ch, r, s)] += dy[y_at(n, k, p, q)] * xp[xp_at(n, ci, hp, wp)];
        });
        return dw;
    }
};

template <class T>
double max_rel_error(const std::vector<T>& got, const std::vector<double>& want) {
    double scale = 1e-30, err = 0;
    for (double v : want) scale = std::max(scale, std::fabs(v));
    for (std::size_t i = 0; i < got.size(); ++i) {
        double d = std::fabs(double(got[i]) - want[i]);
        if (!(d <= err)) err = d;  // NaN-safe: a NaN becomes the error
    }
    return got.size() == want.size() ? err / scale : 1e30;
}
template <class T>
double tolerance() {
    return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

// ---------------------------------------------------------------- calling the fake

template <class T>
constexpr cudnnDataType_t dtype() {
    return std::is_same_v<T, float> ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
}

template <class T>
cudnnStatus_t forward(cudnnHandle_t h, const Descs& d, const std::vector<T>& x, const std::vector<T>& w,
                      std::vector<T>& y, int algo = 0, T alpha = 1, T beta = 0) {
    auto a = static_cast<cudnnConvolutionFwdAlgo_t>(algo);
    std::size_t ws = 0;
    OK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, a, &ws));
    std::vector<unsigned char> buf(ws);
    return cudnnConvolutionForward(h, &alpha, d.x, x.data(), d.w, w.data(), d.conv, a, ws ? buf.data() : nullptr, ws,
                                   &beta, d.y, y.data());
}
template <class T>
cudnnStatus_t backward_data(cudnnHandle_t h, const Descs& d, const std::vector<T>& w, const std::vector<T>& dy,
                            std::vector<T>& dx, int algo = 0, T alpha = 1, T beta = 0) {
    auto a = static_cast<cudnnConvolutionBwdDataAlgo_t>(algo);
    std::size_t ws = 0;
    OK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, a, &ws));
    std::vector<unsigned char> buf(ws);
    return cudnnConvolutionBackwardData(h, &alpha, d.w, w.data(), d.y, dy.data(), d.conv, a,
                                        ws ? buf.data() : nullptr, ws, &beta, d.x, dx.data());
}
template <class T>
cudnnStatus_t backward_filter(cudnnHandle_t h, const Descs& d, const std::vector<T>& x, const std::vector<T>& dy,
                              std::vector<T>& dw, int algo = 0, T alpha = 1, T beta = 0) {
    auto a = static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo);
    std::size_t ws = 0;
    OK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, a, &ws));
    std::vector<unsigned char> buf(ws);
    return cudnnConvolutionBackwardFilter(h, &alpha, d.x, x.data(), d.y, dy.data(), d.conv, a,
                                          ws ? buf.data() : nullptr, ws, &beta, d.w, dw.data());
}

const int kFwdAlgos[] = {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
                         CUDNN_CONVOLUTION_FWD_ALGO_GEMM};
const int kBwdDataAlgos[] = {CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1};
const int kBwdFilterAlgos[] = {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3};

// ---------------------------------------------------------------- tests

void test_handle_and_strings() {
    CHECK(cudnnGetVersion() >= 90000 && cudnnGetVersion() < 100000);
    CHECK(std::strcmp(cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM), "CUDNN_STATUS_BAD_PARAM") == 0);
    CHECK(std::strcmp(cudnnGetErrorString(CUDNN_STATUS_NOT_SUPPORTED), "CUDNN_STATUS_NOT_SUPPORTED") == 0);
    CHECK(std::strcmp(cudnnGetErrorString(CUDNN_STATUS_SUCCESS), "CUDNN_STATUS_SUCCESS") == 0);
    cudnnHandle_t h = nullptr;
    CHECK_STATUS(cudnnCreate(nullptr), CUDNN_STATUS_BAD_PARAM);
    OK(cudnnCreate(&h));
    int dummy = 0;
    auto stream = reinterpret_cast<cudaStream_t>(&dummy);
    OK(cudnnSetStream(h, stream));
    cudaStream_t got = nullptr;
    OK(cudnnGetStream(h, &got));
    CHECK(got == stream);
    CHECK_STATUS(cudnnSetStream(nullptr, stream), CUDNN_STATUS_BAD_PARAM);
    OK(cudnnDestroy(h));
    CHECK_STATUS(cudnnSetStream(h, stream), CUDNN_STATUS_NOT_INITIALIZED);  // destroyed
    CHECK_STATUS(cudnnDestroy(nullptr), CUDNN_STATUS_BAD_PARAM);
}

void test_descriptors() {
    cudnnTensorDescriptor_t t = nullptr;
    cudnnFilterDescriptor_t f = nullptr;
    cudnnConvolutionDescriptor_t c = nullptr;
    OK(cudnnCreateTensorDescriptor(&t));
    OK(cudnnCreateFilterDescriptor(&f));
    OK(cudnnCreateConvolutionDescriptor(&c));
    CHECK_STATUS(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, 2, 3, 4),
                 CUDNN_STATUS_NOT_SUPPORTED);
    CHECK_STATUS(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 0, 3, 4),
                 CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, -1, 2, 3, 4),
                 CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(cudnnSetFilter4dDescriptor(f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, 1, 2, 3, 4),
                 CUDNN_STATUS_NOT_SUPPORTED);
    CHECK_STATUS(cudnnSetFilter4dDescriptor(f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 1, 2, 0, 4),
                 CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(cudnnSetConvolution2dDescriptor(c, -1, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                 CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(cudnnSetConvolution2dDescriptor(c, 0, 0, 0, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                 CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(cudnnSetConvolutionGroupCount(c, 0), CUDNN_STATUS_BAD_PARAM);
    // Never successfully set: every query rejects them.
    int n, ch, hh, ww;
    CHECK_STATUS(cudnnGetConvolution2dForwardOutputDim(c, t, f, &n, &ch, &hh, &ww), CUDNN_STATUS_BAD_PARAM);
    OK(cudnnDestroyTensorDescriptor(t));
    OK(cudnnDestroyFilterDescriptor(f));
    OK(cudnnDestroyConvolutionDescriptor(c));
    CHECK_STATUS(cudnnDestroyTensorDescriptor(t), CUDNN_STATUS_BAD_PARAM);  // twice
    OK(cudnnDestroyTensorDescriptor(nullptr));
}

void test_output_dim() {
    Descs d(kMain, CUDNN_DATA_FLOAT);
    int n = 0, c = 0, h = 0, w = 0;
    OK(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.w, &n, &c, &h, &w));
    // (7 + 2 - 1·2 - 1) / 2 + 1 = 4 and (5 + 0 - 2·1 - 1) / 1 + 1 = 3.
    CHECK(n == 2 && c == 4 && h == 4 && w == 3);
    CHECK(h == kMain.P() && w == kMain.Q());
    CHECK_STATUS(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.w, &n, &c, nullptr, &w), CUDNN_STATUS_BAD_PARAM);
    // Input channels must be groups × filter channels; filter count divisible by groups.
    OK(cudnnSetConvolutionGroupCount(d.conv, 3));
    CHECK_STATUS(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.w, &n, &c, &h, &w), CUDNN_STATUS_BAD_PARAM);
    OK(cudnnSetConvolutionGroupCount(d.conv, 2));
    OK(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5, 3, 3, 2));
    CHECK_STATUS(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.w, &n, &c, &h, &w), CUDNN_STATUS_BAD_PARAM);
    // A dilated filter wider than the padded input.
    OK(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 4, 3, 3, 4));
    CHECK_STATUS(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.w, &n, &c, &h, &w), CUDNN_STATUS_BAD_PARAM);
}

template <class T>
void test_against_reference(cudnnHandle_t h, const Conv& c, const char* name) {
    Descs d(c, dtype<T>());
    Reference ref(c);
    auto x = random_values(c.xn(), 1), w = random_values(c.wn(), 2), dy = random_values(c.yn(), 3);
    auto xt = cast<T>(x), wt = cast<T>(w), dyt = cast<T>(dy);
    // The reference runs in double on the inputs as rounded to T.
    auto xr = std::vector<double>(xt.begin(), xt.end()), wr = std::vector<double>(wt.begin(), wt.end()),
         dyr = std::vector<double>(dyt.begin(), dyt.end());
    auto want_y = ref.forward(xr, wr), want_dx = ref.backward_data(wr, dyr), want_dw = ref.backward_filter(xr, dyr);

    std::vector<T> first;
    for (int a : kFwdAlgos) {
        std::vector<T> y(c.yn(), std::numeric_limits<T>::quiet_NaN());
        OK(forward(h, d, xt, wt, y, a));
        double e = max_rel_error(y, want_y);
        if (!(e < tolerance<T>())) std::printf("  %s forward algo %d: error %g\n", name, a, e);
        CHECK(e < tolerance<T>());
        if (first.empty()) first = y;
        CHECK(y == first);  // bitwise the same whatever the algorithm
    }
    first.clear();
    for (int a : kBwdDataAlgos) {
        std::vector<T> dx(c.xn(), std::numeric_limits<T>::quiet_NaN());
        OK(backward_data(h, d, wt, dyt, dx, a));
        double e = max_rel_error(dx, want_dx);
        if (!(e < tolerance<T>())) std::printf("  %s backward data algo %d: error %g\n", name, a, e);
        CHECK(e < tolerance<T>());
        if (first.empty()) first = dx;
        CHECK(dx == first);
    }
    first.clear();
    for (int a : kBwdFilterAlgos) {
        std::vector<T> dw(c.wn(), std::numeric_limits<T>::quiet_NaN());
        OK(backward_filter(h, d, xt, dyt, dw, a));
        double e = max_rel_error(dw, want_dw);
        if (!(e < tolerance<T>())) std::printf("  %s backward filter algo %d: error %g\n", name, a, e);
        CHECK(e < tolerance<T>());
        if (first.empty()) first = dw;
        CHECK(dw == first);
    }
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

// <conv(x, w), y'> = <x, bwd_data(w, y')> = <w, bwd_filter(x, y')>: the three directions are
// each other's adjoints, whatever the geometry.
void test_adjoint(cudnnHandle_t h, const Conv& c) {
    Descs d(c, CUDNN_DATA_DOUBLE);
    auto x = random_values(c.xn(), 11), w = random_values(c.wn(), 12), yp = random_values(c.yn(), 13);
    std::vector<double> y(c.yn()), dx(c.xn()), dw(c.wn());
    OK(forward(h, d, x, w, y));
    OK(backward_data(h, d, w, yp, dx));
    OK(backward_filter(h, d, x, yp, dw));
    double a = dot(y, yp), b = dot(x, dx), e = dot(w, dw);
    CHECK(std::fabs(a - b) < 1e-12 * (1 + std::fabs(a)));
    CHECK(std::fabs(a - e) < 1e-12 * (1 + std::fabs(a)));
}

template <class T>
void test_alpha_beta(cudnnHandle_t h) {
    const Conv& c = kMain;
    Descs d(c, dtype<T>());
    auto xt = cast<T>(random_values(c.xn(), 21)), wt = cast<T>(random_values(c.wn(), 22)),
         dyt = cast<T>(random_values(c.yn(), 23));
    const T nan = std::numeric_limits<T>::quiet_NaN();
    auto no_nan = [](const std::vector<T>& v) {
        for (T e : v)
            if (std::isnan(e)) return false;
        return true;
    };
    auto near = [](const std::vector<T>& got, const std::vector<T>& want) {
        for (std::size_t i = 0; i < got.size(); ++i)
            if (!(std::fabs(double(got[i]) - double(want[i])) <= tolerance<T>() * (1 + std::fabs(double(want[i])))))
                return false;
        return true;
    };
    // Plain results (alpha 1, beta 0), then: beta = 0 over NaN garbage must not read it; alpha
    // scales; beta = 1 accumulates onto the prior contents; a general alpha, beta pair.
    std::vector<T> y1(c.yn(), nan), dx1(c.xn(), nan), dw1(c.wn(), nan);
    OK(forward(h, d, xt, wt, y1));
    OK(backward_data(h, d, wt, dyt, dx1, 1));
    OK(backward_filter(h, d, xt, dyt, dw1, 1));
    CHECK(no_nan(y1) && no_nan(dx1) && no_nan(dw1));

    auto scaled = [](std::vector<T> v, double a, const std::vector<T>* prior, double b) {
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = T(a * v[i] + (prior ? b * (*prior)[i] : 0));
        return v;
    };
    std::vector<T> y(c.yn(), nan), dx(c.xn(), nan), dw(c.wn(), nan);
    OK(forward(h, d, xt, wt, y, 1, T(2), T(0)));
    OK(backward_data(h, d, wt, dyt, dx, 0, T(2), T(0)));
    OK(backward_filter(h, d, xt, dyt, dw, 3, T(2), T(0)));
    CHECK(no_nan(y) && no_nan(dx) && no_nan(dw));
    CHECK(near(y, scaled(y1, 2, nullptr, 0)) && near(dx, scaled(dx1, 2, nullptr, 0)) &&
          near(dw, scaled(dw1, 2, nullptr, 0)));

    auto py = cast<T>(random_values(c.yn(), 31)), pdx = cast<T>(random_values(c.xn(), 32)),
         pdw = cast<T>(random_values(c.wn(), 33));
    y = py, dx = pdx, dw = pdw;
    OK(forward(h, d, xt, wt, y, 0, T(1), T(1)));
    OK(backward_data(h, d, wt, dyt, dx, 1, T(1), T(1)));
    OK(backward_filter(h, d, xt, dyt, dw, 0, T(1), T(1)));
    CHECK(near(y, scaled(y1, 1, &py, 1)) && near(dx, scaled(dx1, 1, &pdx, 1)) && near(dw, scaled(dw1, 1, &pdw, 1)));

    y = py, dx = pdx, dw = pdw;
    OK(forward(h, d, xt, wt, y, 2, T(0.5), T(-1.5)));
    OK(backward_data(h, d, wt, dyt, dx, 0, T(0.5), T(-1.5)));
    OK(backward_filter(h, d, xt, dyt, dw, 1, T(0.5), T(-1.5)));
    CHECK(near(y, scaled(y1, 0.5, &py, -1.5)) && near(dx, scaled(dx1, 0.5, &pdx, -1.5)) &&
          near(dw, scaled(dw1, 0.5, &pdw, -1.5)));
}

template <class Perf>
bool has_tensor_op(const Perf* p, int n) {
    for (int i = 0; i < n; ++i)
        if (p[i].mathType == CUDNN_TENSOR_OP_MATH) return true;
    return false;
}

void test_algorithm_lists(cudnnHandle_t h) {
    for (cudnnDataType_t t : {CUDNN_DATA_FLOAT, CUDNN_DATA_DOUBLE})
        for (cudnnMathType_t m : {CUDNN_FMA_MATH, CUDNN_DEFAULT_MATH, CUDNN_TENSOR_OP_MATH}) {
            Descs d(kMain, t, m);
            bool tensor_op = t == CUDNN_DATA_FLOAT && m != CUDNN_FMA_MATH;

            cudnnConvolutionFwdAlgoPerf_t f[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
            int nf = 0;
            OK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &nf,
                                                      f));
            CHECK(nf >= 3);
            CHECK(f[0].algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM && f[0].determinism == CUDNN_DETERMINISTIC &&
                  f[0].mathType == CUDNN_FMA_MATH && f[0].memory == 0 && f[0].status == CUDNN_STATUS_SUCCESS);
            CHECK(f[1].algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM &&
                  f[1].determinism == CUDNN_DETERMINISTIC && f[1].memory > 4096);
            CHECK(has_tensor_op(f, nf) == tensor_op);
            for (int i = 0; i < nf; ++i) {
                std::size_t ws = 0;
                OK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, f[i].algo, &ws));
                CHECK(ws == f[i].memory && f[i].status == CUDNN_STATUS_SUCCESS && f[i].time > 0);
            }

            cudnnConvolutionBwdDataAlgoPerf_t bd[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
            int nbd = 0;
            OK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x,
                                                           CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &nbd, bd));
            CHECK(nbd >= 2);
            CHECK(bd[0].algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 && bd[0].determinism == CUDNN_NON_DETERMINISTIC);
            CHECK(bd[1].algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 && bd[1].determinism == CUDNN_DETERMINISTIC &&
                  bd[1].memory > 0);
            CHECK(has_tensor_op(bd, nbd) == tensor_op);
            for (int i = 0; i < nbd; ++i) {
                std::size_t ws = 0;
                OK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, bd[i].algo, &ws));
                CHECK(ws == bd[i].memory);
            }

            cudnnConvolutionBwdFilterAlgoPerf_t bf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
            int nbf = 0;
            OK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w,
                                                             CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &nbf, bf));
            CHECK(nbf >= 3);
            CHECK(bf[0].algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 && bf[0].determinism == CUDNN_NON_DETERMINISTIC);
            CHECK(bf[1].algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 && bf[1].determinism == CUDNN_DETERMINISTIC &&
                  bf[1].memory > 0);
            CHECK(bf[2].algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3 && bf[2].determinism == CUDNN_NON_DETERMINISTIC);
            CHECK(has_tensor_op(bf, nbf) == tensor_op);
            for (int i = 0; i < nbf; ++i) {
                std::size_t ws = 0;
                OK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, bf[i].algo, &ws));
                CHECK(ws == bf[i].memory);
            }

            // requestedAlgoCount bounds the answer and must be positive.
            OK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, 1, &nf, f));
            CHECK(nf == 1);
            CHECK_STATUS(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, 0, &nf, f),
                         CUDNN_STATUS_BAD_PARAM);
        }
    // ALLOW_CONVERSION is reported as such, for the caller to refuse.
    Descs d(kMain, CUDNN_DATA_FLOAT, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
    cudnnConvolutionFwdAlgoPerf_t f[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int nf = 0;
    OK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &nf, f));
    CHECK(f[nf - 1].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
}

template <class Perf>
bool sorted_successes_first(const Perf* p, int n) {
    for (int i = 1; i < n; ++i) {
        bool a = p[i - 1].status == CUDNN_STATUS_SUCCESS, b = p[i].status == CUDNN_STATUS_SUCCESS;
        if (!a && b) return false;
        if (a && b && p[i - 1].time > p[i].time) return false;
    }
    return true;
}

void test_find(cudnnHandle_t h) {
    const Conv& c = kMain;
    Descs d(c, CUDNN_DATA_FLOAT, CUDNN_DEFAULT_MATH);
    Reference ref(c);
    auto x = random_values(c.xn(), 41), w = random_values(c.wn(), 42), dy = random_values(c.yn(), 43);
    auto xt = cast<float>(x), wt = cast<float>(w), dyt = cast<float>(dy);
    auto xr = std::vector<double>(xt.begin(), xt.end()), wr = std::vector<double>(wt.begin(), wt.end()),
         dyr = std::vector<double>(dyt.begin(), dyt.end());
    std::vector<unsigned char> ws(1 << 20);

    // Ample workspace: every candidate runs, the output holds the result, fastest first.
    std::vector<float> y(c.yn(), NAN);
    cudnnConvolutionFwdAlgoPerf_t f[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int nf = 0;
    OK(cudnnFindConvolutionForwardAlgorithmEx(h, d.x, xt.data(), d.w, wt.data(), d.conv, d.y, y.data(),
                                              CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &nf, f, ws.data(), ws.size()));
    CHECK(nf == 4);
    for (int i = 0; i < nf; ++i) CHECK(f[i].status == CUDNN_STATUS_SUCCESS && f[i].time >= 0);
    CHECK(sorted_successes_first(f, nf));
    CHECK(max_rel_error(y, ref.forward(xr, wr)) < 1e-5);

    // No workspace: candidates needing one are reported last, not run.
    OK(cudnnFindConvolutionForwardAlgorithmEx(h, d.x, xt.data(), d.w, wt.data(), d.conv, d.y, y.data(),
                                              CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &nf, f, nullptr, 0));
    CHECK(nf == 4 && sorted_successes_first(f, nf));
    CHECK(f[0].algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM && f[0].status == CUDNN_STATUS_SUCCESS);
    for (int i = 1; i < nf; ++i) CHECK(f[i].status == CUDNN_STATUS_ALLOC_FAILED && f[i].memory > 0);
    OK(cudnnFindConvolutionForwardAlgorithmEx(h, d.x, xt.data(), d.w, wt.data(), d.conv, d.y, y.data(), 1, &nf, f,
                                              nullptr, 0));
    CHECK(nf == 1 && f[0].status == CUDNN_STATUS_SUCCESS);

    std::vector<float> dx(c.xn(), NAN);
    cudnnConvolutionBwdDataAlgoPerf_t bd[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int nbd = 0;
    OK(cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w, wt.data(), d.y, dyt.data(), d.conv, d.x, dx.data(),
                                                   CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &nbd, bd, ws.data(),
                                                   ws.size()));
    CHECK(nbd == 3 && sorted_successes_first(bd, nbd));
    for (int i = 0; i < nbd; ++i) CHECK(bd[i].status == CUDNN_STATUS_SUCCESS);
    CHECK(max_rel_error(dx, ref.backward_data(wr, dyr)) < 1e-5);

    std::vector<float> dw(c.wn(), NAN);
    cudnnConvolutionBwdFilterAlgoPerf_t bf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int nbf = 0;
    // Just enough for ALGO_1 but not ALGO_3 (twice the filter).
    std::size_t ws1 = 0;
    OK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
                                                      &ws1));
    std::size_t ws3 = 0;
    OK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3,
                                                      &ws3));
    CHECK(ws3 > 0);
    std::size_t offer = std::max(ws1, ws3 - 1);
    bool algo3_fits = ws3 <= offer;
    OK(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x, xt.data(), d.y, dyt.data(), d.conv, d.w, dw.data(),
                                                     CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &nbf, bf, ws.data(),
                                                     offer));
    CHECK(nbf == 4 && sorted_successes_first(bf, nbf));
    for (int i = 0; i < nbf; ++i)
        if (bf[i].algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3)
            CHECK((bf[i].status == CUDNN_STATUS_SUCCESS) == algo3_fits);
    CHECK(max_rel_error(dw, ref.backward_filter(xr, dyr)) < 1e-5);

    // The benchmark validates like the convolution itself.
    CHECK_STATUS(cudnnFindConvolutionForwardAlgorithmEx(h, d.x, nullptr, d.w, wt.data(), d.conv, d.y, y.data(),
                                                        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &nf, f, nullptr, 0),
                 CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(cudnnFindConvolutionForwardAlgorithmEx(h, d.x, xt.data(), d.w, wt.data(), d.conv, d.y, y.data(), 0,
                                                        &nf, f, nullptr, 0),
                 CUDNN_STATUS_BAD_PARAM);
}

void test_workspace_is_scribbled(cudnnHandle_t h) {
    const Conv& c = kMain;
    Descs d(c, CUDNN_DATA_DOUBLE);
    auto w = random_values(c.wn(), 51), dy = random_values(c.yn(), 52);
    std::vector<double> dx(c.xn());
    std::size_t need = 0;
    OK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                                    &need));
    CHECK(need > 0);
    std::vector<unsigned char> ws(need + 16, 0x11);
    double one = 1, zero = 0;
    OK(cudnnConvolutionBackwardData(h, &one, d.w, w.data(), d.y, dy.data(), d.conv,
                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, ws.data(), ws.size(), &zero, d.x, dx.data()));
    bool scribbled = true, beyond_untouched = true;
    for (std::size_t i = 0; i < need; ++i) scribbled = scribbled && ws[i] == 0xAB;
    for (std::size_t i = need; i < ws.size(); ++i) beyond_untouched = beyond_untouched && ws[i] == 0x11;
    CHECK(scribbled && beyond_untouched);
}

void test_validation(cudnnHandle_t h) {
    const Conv& c = kMain;
    Descs d(c, CUDNN_DATA_FLOAT);
    auto x = cast<float>(random_values(c.xn(), 61)), w = cast<float>(random_values(c.wn(), 62));
    std::vector<float> y(c.yn());
    float one = 1, zero = 0;
    auto fwd = [&](int algo, void* ws, std::size_t ws_bytes, const void* xp, void* yp) {
        return cudnnConvolutionForward(h, &one, d.x, xp, d.w, w.data(), d.conv,
                                       static_cast<cudnnConvolutionFwdAlgo_t>(algo), ws, ws_bytes, &zero, d.y, yp);
    };
    OK(fwd(0, nullptr, 0, x.data(), y.data()));

    // Null handle, pointers and scalars.
    CHECK_STATUS(cudnnConvolutionForward(nullptr, &one, d.x, x.data(), d.w, w.data(), d.conv,
                                         CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, y.data()),
                 CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(fwd(0, nullptr, 0, nullptr, y.data()), CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(fwd(0, nullptr, 0, x.data(), nullptr), CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(cudnnConvolutionForward(h, nullptr, d.x, x.data(), d.w, w.data(), d.conv,
                                         CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, y.data()),
                 CUDNN_STATUS_BAD_PARAM);

    // Host memory where device memory is required: input, output, workspace.
    g_host_begin = x.data(), g_host_bytes = x.size() * sizeof(float);
    CHECK_STATUS(fwd(0, nullptr, 0, x.data(), y.data()), CUDNN_STATUS_BAD_PARAM);
    g_host_begin = y.data() + y.size() - 1, g_host_bytes = sizeof(float);  // only the last element
    CHECK_STATUS(fwd(0, nullptr, 0, x.data(), y.data()), CUDNN_STATUS_BAD_PARAM);
    std::size_t need = 0;
    OK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y,
                                               CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, &need));
    std::vector<unsigned char> ws(need);
    g_host_begin = ws.data(), g_host_bytes = ws.size();
    CHECK_STATUS(fwd(1, ws.data(), ws.size(), x.data(), y.data()), CUDNN_STATUS_BAD_PARAM);
    g_host_begin = nullptr, g_host_bytes = 0;

    // Workspace: missing, too small, enough, overlapping an operand; in-place output.
    CHECK(need > 0);
    CHECK_STATUS(fwd(1, nullptr, 0, x.data(), y.data()), CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(fwd(1, ws.data(), need - 1, x.data(), y.data()), CUDNN_STATUS_BAD_PARAM);
    OK(fwd(1, ws.data(), need, x.data(), y.data()));
    CHECK_STATUS(fwd(1, x.data(), x.size() * sizeof(float), x.data(), y.data()), CUDNN_STATUS_BAD_PARAM);
    std::vector<float> big(c.xn() + c.yn());
    CHECK_STATUS(fwd(0, nullptr, 0, big.data(), big.data() + c.xn() - 1), CUDNN_STATUS_BAD_PARAM);

    // Algorithm out of range, or real but not offered by the simulator.
    CHECK_STATUS(fwd(CUDNN_CONVOLUTION_FWD_ALGO_COUNT, nullptr, 0, x.data(), y.data()), CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(fwd(-1, nullptr, 0, x.data(), y.data()), CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(fwd(CUDNN_CONVOLUTION_FWD_ALGO_FFT, nullptr, 0, x.data(), y.data()), CUDNN_STATUS_NOT_SUPPORTED);
    std::size_t sz = 0;
    CHECK_STATUS(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD,
                                                         &sz),
                 CUDNN_STATUS_NOT_SUPPORTED);
    CHECK_STATUS(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x,
                                                              CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &sz),
                 CUDNN_STATUS_BAD_PARAM);

    // y dims that are not the computed output dims.
    OK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, c.N, c.K, c.P(), c.Q() + 1));
    std::vector<float> y2(std::size_t(c.N) * c.K * c.P() * (c.Q() + 1));
    CHECK_STATUS(fwd(0, nullptr, 0, x.data(), y2.data()), CUDNN_STATUS_BAD_PARAM);
    cudnnConvolutionFwdAlgoPerf_t f[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int nf = 0;
    CHECK_STATUS(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, 8, &nf, f), CUDNN_STATUS_BAD_PARAM);
    OK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, c.N, c.K + 1, c.P(), c.Q()));
    CHECK_STATUS(fwd(0, nullptr, 0, x.data(), y2.data()), CUDNN_STATUS_BAD_PARAM);
    OK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, c.N, c.K, c.P(), c.Q()));
    OK(fwd(0, nullptr, 0, x.data(), y.data()));

    // Data types: x, w, y must agree (BAD_PARAM); the compute type must be the data type, and
    // only float and double are computed (NOT_SUPPORTED).
    OK(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_DOUBLE, CUDNN_TENSOR_NCHW, c.K, c.Cg(), c.R, c.S));
    CHECK_STATUS(fwd(0, nullptr, 0, x.data(), y.data()), CUDNN_STATUS_BAD_PARAM);
    OK(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, c.K, c.Cg(), c.R, c.S));
    OK(cudnnSetConvolution2dDescriptor(d.conv, c.pad_h, c.pad_w, c.str_h, c.str_w, c.dil_h, c.dil_w, c.mode,
                                       CUDNN_DATA_DOUBLE));
    CHECK_STATUS(fwd(0, nullptr, 0, x.data(), y.data()), CUDNN_STATUS_NOT_SUPPORTED);
    CHECK_STATUS(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, 8, &nf, f),
                 CUDNN_STATUS_NOT_SUPPORTED);
    OK(cudnnSetConvolution2dDescriptor(d.conv, c.pad_h, c.pad_w, c.str_h, c.str_w, c.dil_h, c.dil_w, c.mode,
                                       CUDNN_DATA_HALF));
    CHECK_STATUS(fwd(0, nullptr, 0, x.data(), y.data()), CUDNN_STATUS_NOT_SUPPORTED);
    {
        Descs hd(c, CUDNN_DATA_HALF);
        CHECK_STATUS(cudnnConvolutionForward(h, &one, hd.x, x.data(), hd.w, w.data(), hd.conv,
                                             CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, hd.y,
                                             y.data()),
                     CUDNN_STATUS_NOT_SUPPORTED);
    }
    OK(cudnnSetConvolution2dDescriptor(d.conv, c.pad_h, c.pad_w, c.str_h, c.str_w, c.dil_h, c.dil_w, c.mode,
                                       CUDNN_DATA_FLOAT));
    OK(fwd(0, nullptr, 0, x.data(), y.data()));

    // Group consistency, checked by every call, not just the output-dim query.
    OK(cudnnSetConvolutionGroupCount(d.conv, 1));
    CHECK_STATUS(fwd(0, nullptr, 0, x.data(), y.data()), CUDNN_STATUS_BAD_PARAM);
    OK(cudnnSetConvolutionGroupCount(d.conv, c.G));

    // Descriptors destroyed or never set.
    cudnnTensorDescriptor_t unset = nullptr;
    OK(cudnnCreateTensorDescriptor(&unset));
    CHECK_STATUS(cudnnConvolutionForward(h, &one, unset, x.data(), d.w, w.data(), d.conv,
                                         CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, y.data()),
                 CUDNN_STATUS_BAD_PARAM);
    OK(cudnnDestroyTensorDescriptor(unset));

    // The same rules in the backward directions.
    std::vector<float> dx(c.xn()), dw(c.wn());
    CHECK_STATUS(cudnnConvolutionBackwardData(h, &one, d.w, w.data(), d.y, y.data(), d.conv,
                                              CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, nullptr, 0, &zero, d.x, dx.data()),
                 CUDNN_STATUS_BAD_PARAM);
    CHECK_STATUS(cudnnConvolutionBackwardFilter(h, &one, d.x, x.data(), d.y, y.data(), d.conv,
                                                CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, nullptr, 0, &zero, d.w, nullptr),
                 CUDNN_STATUS_BAD_PARAM);
    OK(cudnnConvolutionBackwardFilter(h, &one, d.x, x.data(), d.y, y.data(), d.conv,
                                      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, nullptr, 0, &zero, d.w, dw.data()));
}

}  // namespace

int main() {
    test_handle_and_strings();
    test_descriptors();
    test_output_dim();
    cudnnHandle_t h = nullptr;
    OK(cudnnCreate(&h));
    Conv flipped = kMain;
    flipped.mode = CUDNN_CONVOLUTION;
    Conv one_by_one_strided = kOneByOne;
    one_by_one_strided.str_h = 2, one_by_one_strided.str_w = 3, one_by_one_strided.pad_w = 1;
    test_against_reference<float>(h, kMain, "main float");
    test_against_reference<double>(h, kMain, "main double");
    test_against_reference<float>(h, kOneByOne, "1x1 float");
    test_against_reference<double>(h, kOneByOne, "1x1 double");
    test_against_reference<double>(h, one_by_one_strided, "1x1 strided double");
    test_against_reference<double>(h, flipped, "convolution mode double");
    test_against_reference<float>(h, flipped, "convolution mode float");
    test_adjoint(h, kMain);
    test_adjoint(h, flipped);
    test_adjoint(h, kOneByOne);
    test_adjoint(h, one_by_one_strided);
    test_alpha_beta<float>(h);
    test_alpha_beta<double>(h);
    test_algorithm_lists(h);
    test_find(h);
    test_workspace_is_scribbled(h);
    test_validation(h);
    OK(cudnnDestroy(h));
    std::printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
