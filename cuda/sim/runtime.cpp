// CUDA simulator: the runtime API subset (devices, memory, copies, streams, events, errors).
//
// "Device memory" is host memory, one mapping per allocation with a guard page right after its
// end, tracked so that the simulator can tell device pointers from host pointers: copies must name the right direction and stay
// inside their allocation, and kernels, cuBLAS and cuDNN reject host pointers. Fresh device
// memory is filled with 0xFF bytes (NaN in float and double, -1 in int64), so code that reads
// memory it never wrote shows NaNs instead of lucky zeros. Everything runs synchronously on
// the calling thread: streams and events only keep the API's bookkeeping (and an event's
// host time, for cudaEventElapsedTime).
//
// Environment: DCODR_CUDA_SIM_DEVICES (default 1; 0 simulates a machine without a GPU),
// DCODR_CUDA_SIM_MEMORY_MB (default 16384: allocations beyond it fail as out of memory),
// DCODR_CUDA_SIM_HOST_ONLY (1: no device work at all, see dcodr_sim/counters.h).
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "cuda/check.h"
#include "dcodr_sim/counters.h"

namespace dcodr::cuda::sim {

namespace {

std::size_t env_size(const char* name, std::size_t fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    return static_cast<std::size_t>(std::strtoull(v, nullptr, 10));
}
int device_total() { return static_cast<int>(env_size("DCODR_CUDA_SIM_DEVICES", 1)); }
std::size_t capacity() { return env_size("DCODR_CUDA_SIM_MEMORY_MB", 16384) << 20; }

// A device allocation: its own mapping, laid out so that the block ends (rounded up to cudaMalloc's
// 256-byte alignment) right before a PROT_NONE page. A kernel that runs past the end of its
// buffer faults at the access, instead of silently reading or corrupting a neighbour.
struct Allocation {
    std::size_t bytes;
    void* mapping;
    std::size_t mapping_bytes;
};

struct Memory {
    std::mutex mutex;
    std::map<std::uintptr_t, Allocation> device;  // base -> allocation
    std::set<std::uintptr_t> pinned;               // cudaMallocHost blocks (host memory)
    std::size_t used = 0;
};
Memory& memory() {
    static Memory m;
    return m;
}

// The allocation containing [p, p + bytes), or device.end(). One past the end counts as inside
// (an empty view at the end of a tensor).
std::map<std::uintptr_t, Allocation>::const_iterator find_device(const Memory& m, const void* p, std::size_t bytes) {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    auto it = m.device.upper_bound(a);
    if (it == m.device.begin()) return m.device.end();
    --it;
    if (a + bytes > it->first + it->second.bytes) return m.device.end();
    return it;
}

struct AtomicCounters {
    std::atomic<std::uint64_t> host_waits{0}, kernel_launches{0}, library_calls{0}, device_mallocs{0},
        copies_to_host{0}, copies_from_host{0};
};
AtomicCounters g_counters;

thread_local cudaError_t g_last = cudaSuccess;
thread_local cudaError_t g_detail_code = cudaSuccess;
thread_local std::string g_detail;
thread_local std::string g_message;
thread_local int g_current_device = 0;

cudaError_t fail(cudaError_t e, const std::string& detail) {
    g_last = e;
    g_detail_code = e;
    g_detail = detail;
    return e;
}

struct Event {
    unsigned flags = 0;
    bool recorded = false;
    std::chrono::steady_clock::time_point when;
};
struct Stream {
    unsigned flags = 0;
};

}  // namespace

bool is_device_pointer(const void* p) {
    Memory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    return find_device(m, p, 0) != m.device.end();
}

void set_launch_error(cudaError_t e, const std::string& detail) { fail(e, detail); }

Counters counters() {
    Counters c;
    c.host_waits = g_counters.host_waits;
    c.kernel_launches = g_counters.kernel_launches;
    c.library_calls = g_counters.library_calls;
    c.device_mallocs = g_counters.device_mallocs;
    c.copies_to_host = g_counters.copies_to_host;
    c.copies_from_host = g_counters.copies_from_host;
    return c;
}
void reset_counters() {
    for (auto* a : {&g_counters.host_waits, &g_counters.kernel_launches, &g_counters.library_calls,
                    &g_counters.device_mallocs, &g_counters.copies_to_host, &g_counters.copies_from_host})
        *a = 0;
}
void count_launch() { ++g_counters.kernel_launches; }
namespace {
std::atomic<bool>& host_only_flag() {
    static std::atomic<bool> on{env_size("DCODR_CUDA_SIM_HOST_ONLY", 0) != 0};
    return on;
}
}  // namespace
bool host_only() { return host_only_flag().load(std::memory_order_relaxed); }
void set_host_only(bool on) { host_only_flag() = on; }
void count_library_call() { ++g_counters.library_calls; }

}  // namespace dcodr::cuda::sim

using namespace dcodr::cuda::sim;

// ---------------------------------------------------------------- devices and errors

cudaError_t cudaGetDeviceCount(int* count) {
    *count = device_total();
    if (*count == 0) return fail(cudaErrorNoDevice, "DCODR_CUDA_SIM_DEVICES=0");
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
    if (device < 0 || device >= device_total())
        return fail(cudaErrorInvalidDevice, "device " + std::to_string(device));
    g_current_device = device;
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
    *device = g_current_device;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
    if (device < 0 || device >= device_total())
        return fail(cudaErrorInvalidDevice, "device " + std::to_string(device));
    *prop = cudaDeviceProp{};
    std::snprintf(prop->name, sizeof prop->name, "dcodr CUDA simulator (host CPU)");
    prop->totalGlobalMem = capacity();
    prop->major = 9;
    prop->minor = 0;
    prop->multiProcessorCount = 132;
    prop->warpSize = 32;
    prop->maxThreadsPerBlock = 1024;
    prop->maxGridSize[0] = 2147483647;
    prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
    return cudaSuccess;
}
cudaError_t cudaGetLastError() {
    cudaError_t e = g_last;
    g_last = cudaSuccess;
    return e;
}
// The runtime's description, plus what the simulator saw when it raised this code last.
const char* cudaGetErrorString(cudaError_t e) {
    static const std::map<cudaError_t, const char*> descriptions = {
        {cudaSuccess, "no error"},
        {cudaErrorInvalidValue, "invalid argument"},
        {cudaErrorMemoryAllocation, "out of memory"},
        {cudaErrorInvalidConfiguration, "invalid configuration argument"},
        {cudaErrorInvalidDevicePointer, "invalid device pointer"},
        {cudaErrorInvalidMemcpyDirection, "invalid copy direction for memcpy"},
        {cudaErrorNoDevice, "no CUDA-capable device is detected"},
        {cudaErrorInvalidDevice, "invalid device ordinal"},
        {cudaErrorInvalidResourceHandle, "invalid resource handle"},
        {cudaErrorNotReady, "device not ready"},
        {cudaErrorLaunchFailure, "unspecified launch failure"},
    };
    auto it = descriptions.find(e);
    const char* base = it != descriptions.end() ? it->second : "unknown error";
    if (e != cudaSuccess && e == g_detail_code && !g_detail.empty()) {
        g_message = std::string(base) + " [CUDA simulator: " + g_detail + "]";
        return g_message.c_str();
    }
    return base;
}

// ---------------------------------------------------------------- memory

cudaError_t cudaMalloc(void** ptr, std::size_t size) {
    *ptr = nullptr;
    if (size == 0) return cudaSuccess;
    Memory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    if (size > capacity() || m.used > capacity() - size)
        return fail(cudaErrorMemoryAllocation, std::to_string(size) + " bytes asked, " + std::to_string(m.used) +
                                                   " of " + std::to_string(capacity()) + " in use");
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t padded = (size + 255) / 256 * 256;
    const std::size_t body = (padded + page - 1) / page * page;
    void* mapping = mmap(nullptr, body + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) return fail(cudaErrorMemoryAllocation, "host mmap failed");
    mprotect(static_cast<char*>(mapping) + body, page, PROT_NONE);
    char* p = static_cast<char*>(mapping) + (body - padded);
    if (!host_only()) std::memset(p, 0xFF, padded);  // host-only: pages stay unmapped (no memory used)
    m.device[reinterpret_cast<std::uintptr_t>(p)] = Allocation{size, mapping, body + page};
    m.used += size;
    ++g_counters.device_mallocs;
    *ptr = p;
    return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
    if (!ptr) return cudaSuccess;
    Memory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = m.device.find(reinterpret_cast<std::uintptr_t>(ptr));
    if (it == m.device.end()) return fail(cudaErrorInvalidValue, "cudaFree of a pointer cudaMalloc did not return");
    m.used -= it->second.bytes;
    munmap(it->second.mapping, it->second.mapping_bytes);
    m.device.erase(it);
    return cudaSuccess;
}
cudaError_t cudaMallocHost(void** ptr, std::size_t size) {
    *ptr = std::malloc(size ? size : 1);
    if (!*ptr) return fail(cudaErrorMemoryAllocation, "pinned host allocation");
    Memory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    m.pinned.insert(reinterpret_cast<std::uintptr_t>(*ptr));
    return cudaSuccess;
}
cudaError_t cudaFreeHost(void* ptr) {
    if (!ptr) return cudaSuccess;
    Memory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    if (!m.pinned.erase(reinterpret_cast<std::uintptr_t>(ptr)))
        return fail(cudaErrorInvalidValue, "cudaFreeHost of a pointer cudaMallocHost did not return");
    std::free(ptr);
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(std::size_t* free, std::size_t* total) {
    Memory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    *total = capacity();
    *free = capacity() - m.used;
    return cudaSuccess;
}

namespace {
// Each side of a copy must be what `kind` says, and a device side must lie inside one allocation.
cudaError_t check_side(const void* p, std::size_t bytes, bool want_device, const char* side) {
    Memory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    bool device = find_device(m, p, 0) != m.device.end();
    if (device != want_device)
        return fail(cudaErrorInvalidValue, std::string("memcpy ") + side + " is " + (device ? "device" : "host") +
                                               " memory but the copy kind says " + (want_device ? "device" : "host"));
    if (device && find_device(m, p, bytes) == m.device.end())
        return fail(cudaErrorInvalidValue, std::string("memcpy ") + side + " runs past the end of its allocation (" +
                                               std::to_string(bytes) + " bytes)");
    return cudaSuccess;
}
}  // namespace

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind, cudaStream_t) {
    if (count == 0) return cudaSuccess;
    if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDeviceToDevice)
        return fail(cudaErrorInvalidMemcpyDirection, "the simulator checks explicit copy kinds only");
    bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    if (cudaError_t e = check_side(src, count, src_dev, "source"); e != cudaSuccess) return e;
    if (cudaError_t e = check_side(dst, count, dst_dev, "destination"); e != cudaSuccess) return e;
    if (!host_only())
        std::memmove(dst, src, count);
    else if (kind == cudaMemcpyDeviceToHost)
        std::memset(dst, 0, count);  // defined values for the host (dcodr_sim/counters.h)
    if (kind == cudaMemcpyDeviceToHost) ++g_counters.copies_to_host;
    if (kind == cudaMemcpyHostToDevice) ++g_counters.copies_from_host;
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t count, cudaStream_t) {
    if (count == 0) return cudaSuccess;
    if (cudaError_t e = check_side(ptr, count, true, "memset target"); e != cudaSuccess) return e;
    if (!host_only()) std::memset(ptr, value, count);
    return cudaSuccess;
}

// ---------------------------------------------------------------- streams and events

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
    *stream = reinterpret_cast<cudaStream_t>(new Stream{flags});
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    delete reinterpret_cast<Stream*>(stream);
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
    ++g_counters.host_waits;
    return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
    *event = reinterpret_cast<cudaEvent_t>(new Event{flags, false, {}});
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }
cudaError_t cudaEventDestroy(cudaEvent_t event) {
    delete reinterpret_cast<Event*>(event);
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t) {
    if (!event) return fail(cudaErrorInvalidResourceHandle, "cudaEventRecord of a null event");
    auto* e = reinterpret_cast<Event*>(event);
    e->recorded = true;
    e->when = std::chrono::steady_clock::now();
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
    if (!event) return fail(cudaErrorInvalidResourceHandle, "cudaEventSynchronize of a null event");
    ++g_counters.host_waits;
    return cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
    auto* a = reinterpret_cast<Event*>(start);
    auto* b = reinterpret_cast<Event*>(end);
    if (!a || !b || (a->flags & cudaEventDisableTiming) || (b->flags & cudaEventDisableTiming))
        return fail(cudaErrorInvalidResourceHandle, "elapsed time needs two timing events");
    if (!a->recorded || !b->recorded) return fail(cudaErrorInvalidResourceHandle, "event never recorded");
    *ms = std::chrono::duration<float, std::milli>(b->when - a->when).count();
    return cudaSuccess;
}
