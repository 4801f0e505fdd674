// The CUDA simulator itself (cuda/sim): block and warp semantics of simulated kernels, the
// rules it enforces, device-memory bookkeeping, and its cuBLAS and CUB stand-ins. The
// backend's parity suite (test_cuda_parity_sim) trusts these; here they are checked against
// hand-computed answers and against deliberately broken kernels.
#include <cublas_v2.h>
#include <cub/device/device_radix_sort.cuh>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <iterator>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <string>
#include <cstdint>
#include <numeric>
#include <vector>

#include "cuda/kernels.cuh"
#include "dcodr_sim/counters.h"
#include "tensor/error.h"

using Catch::Matchers::Contains;
using dcodr::cuda::sim::is_device_pointer;

namespace {

// Device buffer for the tests (freed at scope end).
template <class T>
struct DeviceBuffer {
    T* p = nullptr;
    std::size_t n = 0;
    explicit DeviceBuffer(std::size_t count) : n(count) { REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T)) == cudaSuccess); }
    ~DeviceBuffer() { cudaFree(p); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    void upload(const std::vector<T>& v) {
        REQUIRE(cudaMemcpyAsync(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
    }
    std::vector<T> download() const {
        std::vector<T> v(n);
        REQUIRE(cudaMemcpyAsync(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
        return v;
    }
};

// ---- kernels under test

// Tree sum over a warp with shuffles; lane 0 of each warp writes its warp's total.
__global__ void warp_sums(const double* x, double* out) {
    double v = x[blockIdx.x * blockDim.x + threadIdx.x];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (threadIdx.x % 32 == 0) out[blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32] = v;
}

// Reverses each block's slice through shared memory: correct only if the barrier holds every
// thread until all have written.
__global__ void reverse_in_block(const int* x, int* out) {
    __shared__ int buf[256];
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    buf[threadIdx.x] = x[i];
    __syncthreads();
    out[i] = buf[blockDim.x - 1 - threadIdx.x];
}

// Every lane learns which lanes hold the same key, and lane 31's value by broadcast.
__global__ void match_and_broadcast(const long long* keys, unsigned* peers, long long* last) {
    unsigned t = threadIdx.x;
    peers[t] = __match_any_sync(0xffffffffu, keys[t]);
    last[t] = __shfl_sync(0xffffffffu, keys[t], 31);
}

// Broken on purpose: the upper half of the block returns before the barrier.
__global__ void divergent_barrier(int* out) {
    if (threadIdx.x >= blockDim.x / 2) return;
    __syncthreads();
    out[threadIdx.x] = 1;
}

// Broken on purpose when launched with fewer than 32 threads: the full mask names lanes that
// do not exist.
__global__ void full_mask_shuffle(double* out) {
    double v = __shfl_down_sync(0xffffffffu, 1.0, 1);
    out[threadIdx.x] = v;
}

// Broken on purpose: lane 0 leaves the warp before the others shuffle.
__global__ void exited_lane_shuffle(double* out) {
    if (threadIdx.x == 0) return;
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 2.0, 1);
}

// Records the order a block's threads run in: racy by design (an unsynchronised counter per
// block), which is what makes the schedule visible.
__global__ void record_order(int* counters, int* out) {
    out[blockIdx.x * blockDim.x + threadIdx.x] = counters[blockIdx.x]++;
}

// Broken on purpose: writes one element past the end of a buffer of n.
__global__ void write_past_end(float* out, std::int64_t n) {
    if (threadIdx.x == 0) out[n + static_cast<std::int64_t>(threadIdx.x % 64)] = 1.0f;
}

__global__ void write_index(std::int64_t* out, std::int64_t n) {
    DCODR_GRID_LOOP(i, n) out[i] = i;
}

}  // namespace

TEST_CASE("simulated warps shuffle as CUDA defines", "[cuda_sim]") {
    const unsigned blocks = 3, threads = 128;
    std::vector<double> x(blocks * threads);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i % 97) * 0.5 - 3;
    DeviceBuffer<double> dx(x.size()), dout(blocks * threads / 32);
    dx.upload(x);
    DCODR_LAUNCH(blocks, threads, nullptr, warp_sums)(dx.p, dout.p);
    REQUIRE(cudaGetLastError() == cudaSuccess);
    auto got = dout.download();
    for (std::size_t w = 0; w < got.size(); ++w) {
        double want = 0;
        for (std::size_t l = 0; l < 32; ++l) want += x[w * 32 + l];
        REQUIRE(got[w] == want);
    }
}

// Blocks may run on several host threads at once (DCODR_CUDA_SIM_THREADS); each block's shared
// memory and thread indices must stay its own, launch after launch.
TEST_CASE("simulated __syncthreads holds the block and shared memory is per block", "[cuda_sim]") {
    const unsigned blocks = 64, threads = 256;
    std::vector<int> x(blocks * threads);
    std::iota(x.begin(), x.end(), 0);
    DeviceBuffer<int> dx(x.size()), dout(x.size());
    dx.upload(x);
    for (int round = 0; round < 5; ++round) {
        DCODR_LAUNCH(blocks, threads, nullptr, reverse_in_block)(dx.p, dout.p);
        auto got = dout.download();
        for (unsigned b = 0; b < blocks; ++b)
            for (unsigned t = 0; t < threads; ++t)
                REQUIRE(got[b * threads + t] == x[b * threads + threads - 1 - t]);
    }
}

TEST_CASE("simulated __match_any_sync and broadcast shuffles", "[cuda_sim]") {
    std::vector<long long> keys(32);
    for (int l = 0; l < 32; ++l) keys[l] = l % 3 == 0 ? 100 : l;  // lanes 0, 3, 6, ... share key 100
    DeviceBuffer<long long> dk(32), dlast(32);
    DeviceBuffer<unsigned> dpeers(32);
    dk.upload(keys);
    DCODR_LAUNCH(1, 32, nullptr, match_and_broadcast)(dk.p, dpeers.p, dlast.p);
    auto peers = dpeers.download();
    auto last = dlast.download();
    unsigned sevens = 0;
    for (int l = 0; l < 32; l += 3) sevens |= 1u << l;
    for (int l = 0; l < 32; ++l) {
        REQUIRE(peers[l] == (l % 3 == 0 ? sevens : 1u << l));
        REQUIRE(last[l] == keys[31]);
    }
}

TEST_CASE("the simulator reports kernels that break CUDA's synchronisation rules", "[cuda_sim]") {
    DeviceBuffer<int> di(64);
    DeviceBuffer<double> dd(64);
    REQUIRE_THROWS_WITH(DCODR_LAUNCH(1, 64, nullptr, divergent_barrier)(di.p),
                        Contains("__syncthreads") && Contains("exited"));
    REQUIRE_THROWS_WITH(DCODR_LAUNCH(1, 16, nullptr, full_mask_shuffle)(dd.p), Contains("does not exist"));
    REQUIRE_THROWS_WITH(DCODR_LAUNCH(1, 32, nullptr, exited_lane_shuffle)(dd.p), Contains("has exited"));
    // A correct launch afterwards still works (no state left behind by the failures).
    DeviceBuffer<double> dx(32), dout(1);
    dx.upload(std::vector<double>(32, 1.0));
    DCODR_LAUNCH(1, 32, nullptr, warp_sums)(dx.p, dout.p);
    REQUIRE(dout.download()[0] == 32.0);
}

TEST_CASE("the simulator reports bad launches and host pointers through cudaGetLastError", "[cuda_sim]") {
    (void)cudaGetLastError();
    DeviceBuffer<std::int64_t> d(10);
    DCODR_LAUNCH(1, 2048, nullptr, write_index)(d.p, 10);
    cudaError_t e = cudaGetLastError();
    REQUIRE(e == cudaErrorInvalidConfiguration);
    REQUIRE_THAT(std::string(cudaGetErrorString(e)), Contains("write_index"));
    REQUIRE(cudaGetLastError() == cudaSuccess);  // reading the error clears it

    std::vector<std::int64_t> host(10, 5);
    DCODR_LAUNCH(1, 32, nullptr, write_index)(host.data(), 10);
    e = cudaGetLastError();
    REQUIRE(e == cudaErrorInvalidDevicePointer);
    REQUIRE_THAT(std::string(cudaGetErrorString(e)), Contains("argument 0"));
    REQUIRE(host == std::vector<std::int64_t>(10, 5));  // the kernel did not run

    DCODR_LAUNCH(2, 4, nullptr, write_index)(d.p, 10);  // grid-stride loop covers 10 with 8 threads
    auto v = d.download();
    for (std::int64_t i = 0; i < 10; ++i) REQUIRE(v[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("simulated device memory: NaN-filled, bounded copies, directions checked", "[cuda_sim]") {
    DeviceBuffer<float> d(8);
    REQUIRE(is_device_pointer(d.p));
    REQUIRE(is_device_pointer(d.p + 8));  // one past the end
    REQUIRE_FALSE(is_device_pointer(d.p + 9));
    for (float f : d.download()) REQUIRE(std::isnan(f));
    std::vector<float> host(16, 1.0f);
    REQUIRE(cudaMemcpyAsync(d.p, host.data(), 16 * sizeof(float), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
    REQUIRE_THAT(std::string(cudaGetErrorString(cudaGetLastError())), Contains("past the end"));
    REQUIRE(cudaMemcpyAsync(host.data(), d.p, 8 * sizeof(float), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
    REQUIRE(cudaMemsetAsync(host.data(), 0, 4) == cudaErrorInvalidValue);
    (void)cudaGetLastError();
    std::size_t free_b = 0, total_b = 0;
    REQUIRE(cudaMemGetInfo(&free_b, &total_b) == cudaSuccess);
    void* huge = nullptr;
    REQUIRE(cudaMalloc(&huge, total_b + 1) == cudaErrorMemoryAllocation);
    REQUIRE(huge == nullptr);
    (void)cudaGetLastError();
}

// Host-only mode (the host's share of a GPU step, dcodr_sim/counters.h): work is checked and
// counted but not done, and what the host reads back is zeros.
TEST_CASE("host-only mode checks and counts device work without doing it", "[cuda_sim]") {
    namespace sim = dcodr::cuda::sim;
    const std::int64_t n = 300;
    DeviceBuffer<std::int64_t> d(n);
    REQUIRE(cudaMemsetAsync(d.p, 0x11, n * sizeof(std::int64_t)) == cudaSuccess);
    const std::int64_t before = d.p[5];  // simulated device memory is host-addressable
    sim::set_host_only(true);
    sim::reset_counters();
    DCODR_LAUNCH(2, 128, nullptr, write_index)(d.p, n);
    REQUIRE(cudaGetLastError() == cudaSuccess);
    REQUIRE(cudaMemsetAsync(d.p, 0, n * sizeof(std::int64_t)) == cudaSuccess);
    std::vector<std::int64_t> up(n, 7);
    REQUIRE(cudaMemcpyAsync(d.p, up.data(), n * sizeof(std::int64_t), cudaMemcpyHostToDevice) == cudaSuccess);
    std::vector<std::int64_t> back(n, 9);
    REQUIRE(cudaMemcpyAsync(back.data(), d.p, n * sizeof(std::int64_t), cudaMemcpyDeviceToHost) == cudaSuccess);
    // Still checked: a bad launch and a copy past the end fail as they would otherwise.
    DCODR_LAUNCH(1, 2048, nullptr, write_index)(d.p, n);
    REQUIRE(cudaGetLastError() == cudaErrorInvalidConfiguration);
    REQUIRE(cudaMemcpyAsync(d.p, up.data(), (n + 1) * sizeof(std::int64_t), cudaMemcpyHostToDevice) ==
            cudaErrorInvalidValue);
    (void)cudaGetLastError();
    sim::Counters c = sim::counters();
    sim::set_host_only(false);
    CHECK(c.kernel_launches == 1);
    CHECK(c.copies_from_host == 1);
    CHECK(c.copies_to_host == 1);
    CHECK(d.p[5] == before);  // neither the kernel, the memset nor the upload touched memory
    CHECK(back == std::vector<std::int64_t>(n, 0));
    DCODR_LAUNCH(2, 128, nullptr, write_index)(d.p, n);  // and normal mode runs kernels again
    CHECK(d.download()[5] == 5);
}

TEST_CASE("simulated cuBLAS: column-major strided batched GEMM with transposes", "[cuda_sim]") {
    cublasHandle_t h = nullptr;
    REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
    // Column-major A (m x k, or k x m when transposed), B (k x n), C (m x n), 2 batches.
    const int m = 3, n = 2, k = 4, batch = 2;
    for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
            int lda = ta ? k : m, ldb = tb ? n : k;
            std::vector<double> a(static_cast<std::size_t>(m * k * batch)), b(static_cast<std::size_t>(k * n * batch));
            for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::sin(static_cast<double>(i) + 1);
            for (std::size_t i = 0; i < b.size(); ++i) b[i] = std::cos(static_cast<double>(i) * 0.7);
            DeviceBuffer<double> da(a.size()), db(b.size()), dc(static_cast<std::size_t>(m * n * batch));
            da.upload(a);
            db.upload(b);
            double alpha = 1.5, beta = 0.0;  // beta 0: C's NaN garbage must not leak in
            REQUIRE(cublasDgemmStridedBatched(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m,
                                              n, k, &alpha, da.p, lda, m * k, db.p, ldb, k * n, &beta, dc.p, m,
                                              m * n, batch) == CUBLAS_STATUS_SUCCESS);
            auto c = dc.download();
            for (int bt = 0; bt < batch; ++bt)
                for (int i = 0; i < m; ++i)
                    for (int j = 0; j < n; ++j) {
                        double want = 0;
                        for (int l = 0; l < k; ++l) {
                            double av = ta ? a[bt * m * k + l + i * lda] : a[bt * m * k + i + l * lda];
                            double bv = tb ? b[bt * k * n + j + l * ldb] : b[bt * k * n + l + j * ldb];
                            want += av * bv;
                        }
                        REQUIRE(c[static_cast<std::size_t>(bt * m * n + i + j * m)] == Approx(alpha * want));
                    }
            // A leading dimension too small for the rows it must hold is rejected, as cuBLAS does.
            REQUIRE(cublasDgemmStridedBatched(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, da.p,
                                              lda - 1, m * k, db.p, k, k * n, &beta, dc.p, m, m * n,
                                              batch) == CUBLAS_STATUS_INVALID_VALUE);
        }
    }
    REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE("simulated CUB radix sort: stable pairs on the requested bits", "[cuda_sim]") {
    std::vector<std::int64_t> keys = {5, 1, 5, 0, 3, 1, 5, 2}, pos(keys.size());
    std::iota(pos.begin(), pos.end(), 0);
    DeviceBuffer<std::int64_t> kin(keys.size()), kout(keys.size()), vin(keys.size()), vout(keys.size());
    kin.upload(keys);
    vin.upload(pos);
    std::size_t bytes = 0;
    REQUIRE(cub::DeviceRadixSort::SortPairs(nullptr, bytes, kin.p, kout.p, vin.p, vout.p, 8, 0, 3) == cudaSuccess);
    REQUIRE(bytes > 0);
    DeviceBuffer<char> temp(bytes);
    std::size_t too_small = bytes - 1;
    REQUIRE(cub::DeviceRadixSort::SortPairs(temp.p, too_small, kin.p, kout.p, vin.p, vout.p, 8, 0, 3) ==
            cudaErrorInvalidValue);
    (void)cudaGetLastError();
    REQUIRE(cub::DeviceRadixSort::SortPairs(temp.p, bytes, kin.p, kout.p, vin.p, vout.p, 8, 0, 3) == cudaSuccess);
    REQUIRE(kout.download() == std::vector<std::int64_t>{0, 1, 1, 2, 3, 5, 5, 5});
    REQUIRE(vout.download() == std::vector<std::int64_t>{3, 1, 5, 7, 4, 0, 2, 6});
}

TEST_CASE("DCODR_CUDA_SIM_SCHEDULE=reverse runs a block's threads in the opposite order", "[cuda_sim]") {
    const char* env = std::getenv("DCODR_CUDA_SIM_SCHEDULE");
    bool reverse = env && std::string(env) == "reverse";
    const int blocks = 3, threads = 64;
    DeviceBuffer<int> counters(blocks), out(blocks * threads);
    counters.upload(std::vector<int>(blocks, 0));
    DCODR_LAUNCH(blocks, threads, nullptr, record_order)(counters.p, out.p);
    auto order = out.download();
    for (int b = 0; b < blocks; ++b)
        for (int t = 0; t < threads; ++t)
            REQUIRE(order[static_cast<std::size_t>(b * threads + t)] == (reverse ? threads - 1 - t : t));
}

// A kernel that runs past its buffer faults at once, as compute-sanitizer would report it,
// instead of silently writing into a neighbour. Run in a child process (fork) so the fault
// can be observed; a one-block launch stays on the calling thread.
TEST_CASE("writing past the end of device memory faults", "[cuda_sim]") {
    for (std::size_t n : {std::size_t(64), std::size_t(1000), std::size_t(4096)}) {
        DeviceBuffer<float> d(n);
        std::size_t slack = (n * sizeof(float) + 255) / 256 * 256 / sizeof(float);  // cudaMalloc's alignment
        std::fflush(nullptr);
        pid_t child = fork();
        REQUIRE(child >= 0);
#if TEST_UNDER_ASAN
        // AddressSanitizer owns SIGSEGV: it reports the fault and exits (or aborts) instead of
        // dying of the signal. The child's report goes to a file, and the fault must be in it.
        const std::string report = "/tmp/dcodr-guard-" + std::to_string(::getpid()) + ".txt";
#endif
        if (child == 0) {
            // The default action, not Catch's fatal-signal handler (nor, where it allows it,
            // ASan's): the child must simply die of the fault.
            struct sigaction dfl {};
            dfl.sa_handler = SIG_DFL;
            sigaction(SIGSEGV, &dfl, nullptr);
#if TEST_UNDER_ASAN
            int fd = ::open(report.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {  // both: ASan reports on stderr, Catch's fatal-signal handler on stdout
                std::fflush(nullptr);
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
#endif
            DCODR_LAUNCH(1, 32, nullptr, write_past_end)(d.p, static_cast<std::int64_t>(slack));
            _exit(0);  // not reached when the guard page works
        }
        int status = 0;
        REQUIRE(waitpid(child, &status, 0) == child);
        INFO("buffer of " << n << " floats, write at element " << slack);
#if TEST_UNDER_ASAN
        std::ifstream in(report);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::remove(report.c_str());
        INFO("child status " << status << ", its output: " << text);
        // Whichever handler sees the fault first (Catch's re-raises it, ASan's reports and exits
        // or aborts), the child must have faulted: died of SIGSEGV, or reported a SEGV.
        const bool died_of_segv = WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
        const bool reported = text.find("SEGV on unknown address") != std::string::npos ||
                              text.find("SIGSEGV - Segmentation violation") != std::string::npos;
        REQUIRE((died_of_segv || reported));
        REQUIRE(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
#else
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(WTERMSIG(status) == SIGSEGV);
#endif
        // Within the allocation the same write is fine.
        DCODR_LAUNCH(1, 32, nullptr, write_past_end)(d.p, static_cast<std::int64_t>(n) - 1);
        REQUIRE(d.download()[n - 1] == 1.0f);
    }
}
