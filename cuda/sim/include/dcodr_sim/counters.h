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
// Host-only mode (DCODR_CUDA_SIM_HOST_ONLY=1, or set_host_only): the simulated device does no
// work. Launches, cuBLAS/cuDNN calls, copies and memsets are still checked and counted, but not
// carried out; fresh device memory is left untouched and copies to the host deliver zeros (so a
// loss read back is 0, not whatever the memory held). Every value is meaningless, but the time a
// step takes is then what the *host* spends issuing it (autograd, dispatch, descriptors, the
// caching allocator): the part of a GPU step that no GPU speed can hide.
bool host_only();
void set_host_only(bool on);
// Called by the simulator's pieces.
void count_launch();
void count_library_call();

}  // namespace dcodr::cuda::sim
