// Size limits for decoded images, and a better message than stb's when it refuses one.
// stb gives up on a very large PNG with its last probe's reason ("unknown image type"), which
// reads as a wrong format; we read the PNG header ourselves to say what is really wrong.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dcodr::data {

// At most this many pixels per image (16384 x 16384); a decoded RGB image is then <= 768 MiB.
constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 28;

// Throws "cannot decode image '<name>': W x H pixels is more than ..." when over the limit.
void check_image_dimensions(std::int64_t width, std::int64_t height, const std::string& name);
// Refuses an uncompressed image (BMP, binary PNM) whose header claims more pixels than the file
// holds: stb decodes it anyway, padding with zeros, so a 161-byte BMP claiming 8 x 16 million
// pixels took minutes and 390 MB (found by tools/fuzz-libfuzzer.sh). Other bytes pass untouched.
void check_uncompressed_size(const std::uint8_t* bytes, std::size_t size, std::int64_t width, std::int64_t height,
                             const std::string& name);
// Why stb could not read `head` (the file's first bytes): names an oversized PNG's size,
// otherwise stb's reason with the formats we accept.
std::string undecodable_reason(const std::uint8_t* head, std::size_t n, const char* stb_reason);
// Refuses a binary PNM (P5/P6) whose header holds a number of more than 9 digits: stb reads them
// into an int, and 10 digits overflow it (undefined behaviour; found by tools/fuzz-libfuzzer.sh).
void check_pnm_header(const std::uint8_t* bytes, std::size_t size, const std::string& name);

}  // namespace dcodr::data
