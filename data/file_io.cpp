#include "data/file_io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "data/file_checks.h"
#include "tensor/error.h"

namespace dcodr::data {

std::vector<std::uint8_t> read_file(const std::string& path) {
    require_regular_file(path, "file");  // fopen on a FIFO would block forever
    std::FILE* f = std::fopen(path.c_str(), "rb");
    DCODR_CHECK(f, "cannot open '{}': {}", path, std::strerror(errno));
    std::vector<std::uint8_t> bytes;
    std::fseek(f, 0, SEEK_END);
    long size = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    if (size < 0) {
        std::fclose(f);
        fail("cannot read '{}': not a regular file", path);
    }
    bytes.resize(static_cast<std::size_t>(size));
    std::size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    DCODR_CHECK(got == bytes.size(), "cannot read '{}': got {} of {} bytes", path, got, bytes.size());
    return bytes;
}

void write_file(const std::string& path, const void* data, std::size_t size) {
    std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    DCODR_CHECK(f, "cannot write '{}': {}", path, std::strerror(errno));
    std::size_t put = size ? std::fwrite(data, 1, size, f) : 0;
    bool ok = (put == size) & (std::fclose(f) == 0);
    if (!ok) {
        std::remove(tmp.c_str());
        fail("cannot write '{}': wrote {} of {} bytes ({})", path, put, size, std::strerror(errno));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::remove(tmp.c_str());
        fail("cannot write '{}': rename failed: {}", path, ec.message());
    }
}

}  // namespace dcodr::data
