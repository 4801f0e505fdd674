// A check on a PNG's chunk structure made before stb sees it: stb grows its buffer for the image
// data to whatever an IDAT chunk's length claims before reading the chunk, so 76 bytes claiming a
// 1 GiB chunk made it allocate 2 GiB (found by tools/fuzz-libfuzzer.sh). Lengths are checked
// against the bytes that are really there.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dcodr::data {

// Refuses, naming `name`, a PNG with a chunk whose length runs past the end of the file (a
// truncated file or a forged length). Bytes that do not start with the PNG signature pass.
void check_png(const std::uint8_t* bytes, std::size_t size, const std::string& name);

}  // namespace dcodr::data
