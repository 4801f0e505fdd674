// --device and --threads: the options every command that computes has, in a file of their own
// so the inference-only dcodr (encode only) links without the training code.
#pragma once
#include <cstdint>

#include "tensor/dtype.h"
#include "tools/args.h"

namespace dcodr::tools {

void add_runtime_options(Args& a);
// Applies --threads and checks that --device can be used (fails now, with a clear message).
Device device_from(const Args& a);

// --threads: 0 keeps the default; above kMaxThreads is refused; above the machine's cores the
// count is lowered to the cores with a note on stderr (1000 threads took 48 s for 2 steps).
constexpr std::int64_t kMaxThreads = 1024;
int checked_threads(std::int64_t requested);

}  // namespace dcodr::tools
