// Per-op time breakdown: where a training step's time goes, on any device.
//
// While enabled, backend_for() hands out a ProfilingBackend (tensor/profiling_backend.cpp) that
// forwards every kernel op to the device's real backend between the two marks of a
// DeviceTimer, keyed by the op's name and a short description of its shapes ("conv2d_forward
// 3x3/1 64->64 32x32 n256"). On a GPU the marks are events on the stream, so the profiled ops
// keep running asynchronously; each op's time then includes any gap in which the GPU waited
// for the host to queue it, which is what makes launch-bound stretches visible.
//
// Only the device under study is wrapped (enable(device)), so a GPU profile does not count
// the CPU work of the data-loading thread; a CPU profile does count the loader's few copies.
// Recording is thread-safe.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/backend.h"

namespace dcodr::profiler {

// Profiles the ops of `device` from now on (other devices are not wrapped, so a CPU data
// loader beside a GPU run is not counted). Profiling stays on until disable().
void enable(Device device);
void disable();
// The wrapped device, if profiling is on.
bool enabled_for(Device device);

struct Row {
    std::string op;      // kernel op ("conv2d_forward")
    std::string detail;  // shapes/parameters, may be empty
    std::int64_t calls = 0;
    double ms = 0;
};

// The part of a training step an op belongs to, for a coarse breakdown: scoped guards mark
// the autograd engine's backward pass and the optimizer; everything else counts as forward
// (the loss and the uploads included). Per thread.
enum class Phase : std::uint8_t { forward, backward, optimizer };
const char* phase_name(Phase p);
class PhaseScope {
public:
    explicit PhaseScope(Phase p);
    ~PhaseScope();
    PhaseScope(const PhaseScope&) = delete;
    PhaseScope& operator=(const PhaseScope&) = delete;

private:
    Phase previous_;
};

// Resolves every pending timer (waits for the device) and adds it to the totals.
void flush();
// Totals since the last reset(), one row per (op, detail), slowest first. Calls flush().
std::vector<Row> rows_by_detail();
// The same, summed over details: one row per op.
std::vector<Row> rows_by_op();
// Milliseconds per phase since the last reset() (forward, backward, optimizer). Calls flush().
std::vector<std::pair<Phase, double>> phase_totals();
void reset();

// Recording, used by the ProfilingBackend: an op's timer is started and stopped around the
// kernel and kept until flush().
void record(std::string op, std::string detail, std::unique_ptr<DeviceTimer> timer);

}  // namespace dcodr::profiler
