#include "method/run_folder.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "nn/atomic_file.h"
#include "nn/json.h"
#include "tensor/error.h"

namespace dcodr::method {

namespace fs = std::filesystem;

namespace {

// "<name>.tmp.<pid>" -> pid, or 0 when the name has no such suffix.
long temp_owner(const std::string& name) {
    auto p = name.rfind(".tmp.");
    if (p == std::string::npos || p + 5 >= name.size()) return 0;
    long pid = 0;
    for (std::size_t i = p + 5; i < name.size(); ++i) {
        if (name[i] < '0' || name[i] > '9' || pid > 100000000) return 0;
        pid = pid * 10 + (name[i] - '0');
    }
    return pid;
}

// Only temporaries of the kinds of file dcodr writes are touched: --out may be a folder that
// also holds the user's own files.
bool is_our_output(const std::string& name) {
    const std::string base = name.substr(0, name.rfind(".tmp."));
    for (const char* ext : {".safetensors", ".json", ".jsonl", ".npy", ".npz", ".png", ".html", ".svg"}) {
        const std::size_t n = std::strlen(ext);
        if (base.size() > n && base.compare(base.size() - n, n, ext) == 0) return true;
    }
    return false;
}

bool process_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

}  // namespace

RunFolder::RunFolder(const std::string& dir, bool resume) {
    DCODR_CHECK(!dir.empty(), "--out must name an output folder, got an empty path");
    std::error_code ec;
    fs::create_directories(dir, ec);
    DCODR_CHECK(!ec && fs::is_directory(dir), "--out '{}': cannot create the output folder: {}", dir,
                ec ? ec.message() : "a file of that name exists");
    const std::string probe = dir + "/.write-test." + std::to_string(::getpid());
    int pfd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const bool wrote = pfd >= 0 && ::write(pfd, "x", 1) == 1;
    const int err = errno;
    if (pfd >= 0) ::close(pfd);
    ::unlink(probe.c_str());
    DCODR_CHECK(wrote, "--out '{}': the output folder is not writable: {}", dir, std::strerror(err));

    const std::string lock = dir + "/.lock";
    lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    DCODR_CHECK(lock_fd_ >= 0, "--out '{}': cannot create the lock file: {}", dir, std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        char owner[32] = {};
        ssize_t n = ::pread(lock_fd_, owner, sizeof owner - 1, 0);
        ::close(lock_fd_);
        lock_fd_ = -1;
        fail("--out '{}' is in use by another dcodr run (pid {} holds {}); wait for it or choose another --out", dir,
             n > 0 ? std::string(owner, static_cast<std::size_t>(n)) : std::string("?"), lock);
    }
    const std::string me = std::to_string(::getpid());
    if (::ftruncate(lock_fd_, 0) == 0 && ::pwrite(lock_fd_, me.data(), me.size(), 0) < 0) {
        // The pid in the lock file is only for the message above; the lock itself is held.
    }

    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        const long owner = temp_owner(name);
        if (owner > 0 && !process_alive(owner) && is_our_output(name)) {
            std::error_code rm;
            if (entry.is_regular_file(rm) && fs::remove(entry.path(), rm)) ++removed_;
        }
    }
    if (removed_ > 0) std::cerr << "note: removed " << removed_ << " temporary file(s) left in " << dir
                                << " by interrupted writes\n";
    const std::string log = dir + "/train_log.jsonl";
    if (!resume && fs::exists(log)) {
        fs::remove(log, ec);
        std::cerr << "note: fresh run in " << dir << ": its old train_log.jsonl was replaced (use --resume to "
                  << "continue a run)\n";
    }
}

RunFolder::~RunFolder() {
    if (lock_fd_ >= 0) ::close(lock_fd_);  // closing drops the flock
}

std::int64_t trim_train_log(const std::string& path, std::int64_t last_step) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return 0;
    std::string kept, line;
    std::int64_t dropped = 0;
    while (std::getline(in, line)) {
        const bool complete = !in.eof();  // a last line without its newline was torn by a kill
        bool keep = false;
        if (complete) {
            try {
                const json::Value v = json::parse(line);
                const json::Value* step = v.is_object() ? v.find("step") : nullptr;
                keep = step && step->is_int() && step->as_int() <= last_step;
            } catch (const Error&) {  // half a line: not a record
            }
        }
        if (keep) kept += line + "\n";
        else ++dropped;
    }
    DCODR_CHECK(in.eof(), "{}: cannot read the training log", path);
    in.close();
    if (dropped > 0) nn::write_file_atomic(path, kept);
    return dropped;
}

}  // namespace dcodr::method
