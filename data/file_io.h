// Whole-file reads and writes with errors that name the file and the OS reason.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dcodr::data {

std::vector<std::uint8_t> read_file(const std::string& path);
// Writes to path + ".tmp" then renames, so a crash never leaves a half-written file behind.
void write_file(const std::string& path, const void* data, std::size_t size);
inline void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    write_file(path, bytes.data(), bytes.size());
}

}  // namespace dcodr::data
