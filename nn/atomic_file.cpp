#include "nn/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <streambuf>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "tensor/error.h"

namespace dcodr::nn {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Directory part of `path` ("." when it has none), for the fsync that makes a rename durable.
std::string parent_dir(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// write(2) until done, retrying on EINTR and short writes. Returns 0 or an errno value.
int write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return 0;
}

// A buffered streambuf over a file descriptor. std::ofstream would hide the errno of a
// failed write (ENOSPC, EIO), and the error message should say why a save failed.
class FdBuf : public std::streambuf {
public:
    explicit FdBuf(int fd) : fd_(fd), buf_(1 << 20) { setp(buf_.data(), buf_.data() + buf_.size()); }
    int error() const { return err_; }

protected:
    int_type overflow(int_type ch) override {
        if (flush_buffer() != 0) return traits_type::eof();
        if (!traits_type::eq_int_type(ch, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(ch);
            pbump(1);
        }
        return traits_type::not_eof(ch);
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        // Large blocks (tensor data) bypass the buffer.
        if (n >= static_cast<std::streamsize>(buf_.size())) {
            if (flush_buffer() != 0) return 0;
            if ((err_ = write_all(fd_, s, static_cast<std::size_t>(n))) != 0) return 0;
            return n;
        }
        return std::streambuf::xsputn(s, n);
    }
    int sync() override { return flush_buffer() == 0 ? 0 : -1; }

private:
    int flush_buffer() {
        if (err_ != 0) return err_;
        std::size_t n = static_cast<std::size_t>(pptr() - pbase());
        err_ = write_all(fd_, pbase(), n);
        setp(buf_.data(), buf_.data() + buf_.size());
        return err_;
    }

    int fd_;
    int err_ = 0;
    std::vector<char> buf_;
};

// Owns the temporary file until it has been renamed into place; removes it otherwise.
class TempFile {
public:
    explicit TempFile(const std::string& target) : target_(target), path_(atomic_temp_path(target)) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd_ < 0)
            fail("cannot write '{}': creating temporary file '{}' failed: {}", target_, path_,
                 errno_text(errno));
        // A replaced file keeps its permission bits (a private checkpoint stays private).
        struct stat st {};
        if (::stat(target_.c_str(), &st) == 0) ::fchmod(fd_, st.st_mode & 07777);
    }
    ~TempFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    int fd() const { return fd_; }

    [[noreturn]] void io_fail(const char* step, int err) const {
        fail("cannot write '{}': {} of temporary file '{}' failed: {}", target_, step, path_, errno_text(err));
    }

    // fsync + close + rename; after this the temporary file no longer exists.
    void commit() {
        if (::fsync(fd_) != 0) io_fail("fsync", errno);
        int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) io_fail("close", errno);
        if (::rename(path_.c_str(), target_.c_str()) != 0) io_fail("rename", errno);
        committed_ = true;
    }

private:
    std::string target_, path_;
    int fd_ = -1;
    bool committed_ = false;
};

// Makes the rename durable. Some filesystems cannot fsync a directory (EINVAL); the data is
// already in place then, so that is not worth failing a save over.
void sync_dir(const std::string& path) {
    std::string dir = parent_dir(path);
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail("wrote '{}' but cannot open its directory '{}' to sync it: {}", path, dir, errno_text(errno));
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0 && err != EINVAL && err != ENOTSUP)
        fail("wrote '{}' but syncing its directory '{}' failed: {}", path, dir, errno_text(err));
}

}  // namespace

std::string atomic_temp_path(const std::string& path) {
    return fmt::format("{}.tmp.{}", path, static_cast<long>(::getpid()));
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer) {
    TempFile tmp(path);
    {
        FdBuf buf(tmp.fd());
        std::ostream os(&buf);
        writer(os);  // an exception here unwinds through ~TempFile, which removes the file
        os.flush();
        if (buf.error() != 0) tmp.io_fail("writing", buf.error());
        if (!os) fail("cannot write '{}': the writer left the stream in a failed state", path);
    }
    tmp.commit();
    sync_dir(path);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
    TempFile tmp(path);
    if (int err = write_all(tmp.fd(), bytes.data(), bytes.size()); err != 0) tmp.io_fail("writing", err);
    tmp.commit();
    sync_dir(path);
}

}  // namespace dcodr::nn
