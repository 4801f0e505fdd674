// One exception type for bad calls, with messages that say what was expected.
#pragma once
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace dcodr {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
    throw Error(fmt::format(f, std::forward<Args>(args)...));
}

#define DCODR_CHECK(cond, ...)                 \
    do {                                       \
        if (!(cond)) ::dcodr::fail(__VA_ARGS__); \
    } while (0)

}  // namespace dcodr
