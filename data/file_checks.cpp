#include "data/file_checks.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "tensor/error.h"

namespace dcodr::data {

void require_regular_file(const std::string& path, const std::string& what) {
    struct stat st {};
    // stat follows symlinks: a link to a regular file is fine, a link to a FIFO is not.
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) fail("{} '{}' does not exist", what, path);
        fail("cannot open {} '{}': {}", what, path, std::strerror(errno));
    }
    if (S_ISREG(st.st_mode)) return;
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                       : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                      : "not a regular file";
    fail("{} '{}' is {}; only regular files are read", what, path, kind);
}

}  // namespace dcodr::data
