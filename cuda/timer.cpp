// The profiler's timer on the GPU: two events on the backend's stream, so timing an op does
// not make the host wait for it; elapsed_ms() waits for the stop event only when read.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"

namespace dcodr::cuda {

namespace {
class EventTimer final : public DeviceTimer {
public:
    explicit EventTimer(const CudaBackend& backend) : backend_(backend) {
        backend_.activate();
        DCODR_CUDA_CHECK(cudaEventCreate(&start_));
        DCODR_CUDA_CHECK(cudaEventCreate(&stop_));
    }
    ~EventTimer() override {
        cudaEventDestroy(start_);  // no check: destructors must not throw
        cudaEventDestroy(stop_);
    }
    EventTimer(const EventTimer&) = delete;
    EventTimer& operator=(const EventTimer&) = delete;

    void start() override { DCODR_CUDA_CHECK(cudaEventRecord(start_, backend_.stream())); }
    void stop() override { DCODR_CUDA_CHECK(cudaEventRecord(stop_, backend_.stream())); }
    double elapsed_ms() override {
        DCODR_CUDA_CHECK(cudaEventSynchronize(stop_));
        float ms = 0;
        DCODR_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
        return ms;
    }

private:
    const CudaBackend& backend_;
    cudaEvent_t start_ = nullptr, stop_ = nullptr;
};
}  // namespace

std::unique_ptr<DeviceTimer> CudaBackend::new_timer() { return std::make_unique<EventTimer>(*this); }

}  // namespace dcodr::cuda
