#include "data/image_limits.h"

#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "tensor/error.h"

namespace dcodr::data {

void check_image_dimensions(std::int64_t width, std::int64_t height, const std::string& name) {
    DCODR_CHECK(width > 0 && height > 0 && width <= kMaxImagePixels / height,
                "cannot decode image '{}': {} x {} pixels is more than the {} pixels (16384 x 16384) supported", name,
                width, height, kMaxImagePixels);
}

std::string undecodable_reason(const std::uint8_t* head, std::size_t n, const char* stb_reason) {
    static const std::uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    // A PNG's IHDR chunk comes first: width and height are big-endian at bytes 16 and 20.
    if (n >= 24 && std::memcmp(head, png_magic, 8) == 0 && std::memcmp(head + 12, "IHDR", 4) == 0) {
        auto be32 = [&](std::size_t o) {
            return (std::uint32_t{head[o]} << 24) | (std::uint32_t{head[o + 1]} << 16) |
                   (std::uint32_t{head[o + 2]} << 8) | std::uint32_t{head[o + 3]};
        };
        std::int64_t w = be32(16), h = be32(20);
        if (w == 0 || h == 0 || w > kMaxImagePixels / h)
            return fmt::format("a PNG of {} x {} pixels (at most {} pixels, 16384 x 16384, are supported)", w, h,
                               kMaxImagePixels);
        return fmt::format("a corrupt or unsupported PNG ({})", stb_reason ? stb_reason : "unknown");
    }
    return fmt::format("{} (expected PNG or JPEG)", stb_reason ? stb_reason : "unknown");
}

std::string undecodable_file_reason(const std::string& path, const char* stb_reason) {
    std::uint8_t head[24] = {};
    std::size_t n = 0;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        n = std::fread(head, 1, sizeof head, f);
        std::fclose(f);
    }
    return undecodable_reason(head, n, stb_reason);
}

}  // namespace dcodr::data
