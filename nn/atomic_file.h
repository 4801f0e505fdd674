// Atomic file replacement, so a crash or error mid-save never leaves a half-written
// checkpoint or log behind: readers see either the old file or the complete new one.
//
// The content goes to `<path>.tmp.<pid>` in the same directory (rename is only atomic within
// one filesystem), is fsync'ed, renamed over `path`, and the directory is fsync'ed so the
// rename itself survives a power loss. On any failure the temporary file is removed and
// `path` is left exactly as it was. A replaced file keeps its permission bits.
#pragma once
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace dcodr::nn {

// Streams the content through `writer`. An exception thrown by the writer propagates
// unchanged (after cleanup); I/O failures throw dcodr::Error naming the path and the
// system's reason (strerror).
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer);

// Same, for content already in memory.
void write_file_atomic(const std::string& path, std::string_view bytes);

// The temporary name used for `path` by this process (exposed for tests).
std::string atomic_temp_path(const std::string& path);

}  // namespace dcodr::nn
