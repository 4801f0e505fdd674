#include "tests/test_util.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <fmt/format.h>

namespace dcodr::testing {

std::string fixture_path(const std::string& name) {
    const char* env = std::getenv("DCODR_FIXTURES");
    std::string dir = env ? env : "tests/fixtures";
    return dir + "/" + name;
}

std::string compare(const Tensor& a, const Tensor& b, double atol, double rtol) {
    if (a.shape() != b.shape())
        return fmt::format("shapes differ: {} vs {}", shape_str(a.shape()), shape_str(b.shape()));
    auto va = a.to_vector(), vb = b.to_vector();
    double worst = -1;
    std::size_t at = 0;
    for (std::size_t i = 0; i < va.size(); ++i) {
        double d = std::abs(va[i] - vb[i]);
        double excess = d - (atol + rtol * std::abs(vb[i]));
        if (!(excess <= 0) && (excess > worst || std::isnan(excess))) {
            worst = std::isnan(excess) ? INFINITY : excess;
            at = i;
        }
    }
    if (worst < 0) return "";
    return fmt::format("element {} differs: {} vs {} (atol {}, rtol {})", at, va[at], vb[at], atol, rtol);
}

Tensor random_tensor(const Shape& shape, std::uint64_t seed, double lo, double hi, DType dtype) {
    return Tensor::uniform(shape, lo, hi, seed, 0, dtype);
}

std::string temp_dir(const std::string& tag) {
    // pid + a counter: concurrent test processes never share a folder.
    static int counter = 0;
    auto base = std::filesystem::temp_directory_path() / fmt::format("dcodr-{}-{}-{}", tag, ::getpid(), counter++);
    std::filesystem::create_directories(base);
    return base.string();
}

}  // namespace dcodr::testing
