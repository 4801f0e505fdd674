#include "data/png_checks.h"

#include <cstring>

#include "tensor/error.h"

namespace dcodr::data {

void check_png(const std::uint8_t* d, std::size_t n, const std::string& name) {
    static const std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n < 8 || std::memcmp(d, signature, 8) != 0) return;
    // Each chunk: a 4-byte big-endian length, a 4-byte type, the data, a 4-byte CRC.
    std::size_t p = 8;
    while (p + 8 <= n) {
        const std::uint64_t length = (std::uint64_t{d[p]} << 24) | (std::uint64_t{d[p + 1]} << 16) |
                                     (std::uint64_t{d[p + 2]} << 8) | d[p + 3];
        const std::string type(reinterpret_cast<const char*>(d + p + 4), 4);
        const std::uint64_t left = n - (p + 8);
        DCODR_CHECK(length <= left, "cannot decode image '{}': its PNG chunk '{}' at byte {} claims {} bytes of data, "
                    "but only {} bytes follow (a truncated file or a forged length)",
                    name, type, p, length, left);
        if (type == "IEND") return;
        p += 12 + length;  // stb reads the CRC without checking it
    }
}

}  // namespace dcodr::data
