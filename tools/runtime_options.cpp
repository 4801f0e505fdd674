#include "tools/runtime_options.h"

#include <iostream>
#include <thread>

#include "tensor/backend.h"
#include "tensor/error.h"

namespace dcodr::tools {

void add_runtime_options(Args& a) {
    a.option("device", "cpu", "cpu, cuda or cuda:N", "runtime");
    a.option("threads", "0", "CPU threads (0 = DCODR_THREADS or all cores)", "runtime");
}

Device device_from(const Args& a) {
    if (int n = as_usage_error([&] { return checked_threads(a.integer("threads")); }); n > 0) set_num_threads(n);
    Device d = as_usage_error([&] { return Device::parse(a.str("device")); });
    backend_for(d);  // fails now, with a clear message, when the device cannot be used
    return d;
}

int checked_threads(std::int64_t requested) {
    DCODR_CHECK(requested >= 0 && requested <= kMaxThreads, "--threads must be in [0, {}], got {} (0 = DCODR_THREADS "
                "or all cores)", kMaxThreads, requested);
    const auto cores = static_cast<std::int64_t>(std::thread::hardware_concurrency());
    if (cores > 0 && requested > cores) {
        std::cerr << "note: --threads " << requested << " is more than the " << cores
                  << " cores of this machine; using " << cores << "\n";
        return static_cast<int>(cores);
    }
    return static_cast<int>(requested);
}

}  // namespace dcodr::tools
