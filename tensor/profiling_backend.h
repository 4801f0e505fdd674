// The Backend that the profiler (tensor/profiler.h) puts in front of a device's backend: every
// kernel op is forwarded unchanged between the marks of a DeviceTimer and recorded with a
// short description of its shapes. Memory calls are forwarded untimed.
#pragma once
#include "tensor/backend.h"

namespace dcodr {

// The wrapper for `inner` (one per backend, alive for the whole process).
Backend& profiling_backend(Backend& inner);

}  // namespace dcodr
