// Shared by the fuzz harnesses: run a parser on one input, where a dcodr::Error is a correct
// refusal and anything else escaping (std::bad_alloc, std::out_of_range, ...) is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tensor/error.h"

namespace dcodr::fuzz {

template <class F>
void expect_only_dcodr_errors(F&& f) {
    try {
        f();
    } catch (const Error&) {
        // a refusal with a message: what bad input must get
    }
}

// A private scratch folder for harnesses whose parser takes a path (npz, CSV).
inline const std::string& scratch_dir() {
    // Never destroyed: the atexit handler that removes the folder runs after static destructors.
    static const std::string* dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("dcodr-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        auto* s = new std::string(d.string());
        std::atexit([] { std::filesystem::remove_all(scratch_dir()); });
        return s;
    }();
    return *dir;
}

inline std::string write_scratch(const std::string& name, const std::uint8_t* data, std::size_t size) {
    std::string path = scratch_dir() + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    return path;
}

}  // namespace dcodr::fuzz
