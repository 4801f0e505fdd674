// CUDA simulator: counts of what the backend asked of the "device", for tests that check the
// backend's behaviour rather than its numbers (the host waits only when it needs a value; the
// caching allocator stops calling cudaMalloc once warm; how many launches a step takes).
#pragma once
#include <cstdint>

namespace dcodr::cuda::sim {

struct Counters {
    std::uint64_t host_waits = 0;       // cudaStreamSynchronize, cudaEventSynchronize
    std::uint64_t kernel_launches = 0;  // own kernels (DCODR_LAUNCH)
    std::uint64_t library_calls = 0;    // cuBLAS GEMMs and cuDNN convolutions (each one or more GPU kernels)
    std::uint64_t device_mallocs = 0;   // successful cudaMalloc calls
    std::uint64_t copies_to_host = 0;   // device-to-host memcpy calls
    std::uint64_t copies_from_host = 0; // host-to-device memcpy calls
};
Counters counters();
void reset_counters();
// Called by the simulator's pieces.
void count_launch();
void count_library_call();

}  // namespace dcodr::cuda::sim
