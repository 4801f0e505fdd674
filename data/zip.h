// The part of the ZIP format that .npz needs: read the central directory (with ZIP64 for
// files over 4 GiB, as numpy writes them), locate an entry's data, and write stored
// (uncompressed) entries. Streams through FILE* so multi-GB image arrays are never held twice.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace dcodr::data {

std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t size);  // start with 0

struct ZipEntry {
    std::string name;
    std::uint16_t method = 0;  // 0 = stored, 8 = deflate
    std::uint16_t flags = 0;
    std::uint32_t crc = 0;
    std::uint64_t compressed_size = 0, size = 0, local_offset = 0;
};

// Reads the central directory of an open zip file; `path` is for messages.
std::vector<ZipEntry> read_zip_directory(std::FILE* f, const std::string& path);
// Offset of the entry's first data byte (after its local header).
std::uint64_t zip_data_offset(std::FILE* f, const ZipEntry& e, const std::string& path);

// Writes stored entries; each entry is given as up to two byte ranges (header + payload),
// so a large array is written straight from its buffer. finish() writes the directory.
class ZipWriter {
public:
    explicit ZipWriter(std::string path);  // writes path + ".tmp", renamed by finish()
    ~ZipWriter();
    void add(const std::string& name, const void* a, std::size_t a_size, const void* b, std::size_t b_size);
    void finish();

private:
    void put(const void* data, std::size_t size);
    std::string path_, tmp_;
    std::FILE* f_ = nullptr;
    std::uint64_t pos_ = 0;
    std::vector<ZipEntry> entries_;
};

}  // namespace dcodr::data
