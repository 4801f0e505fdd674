// The output folder of a training run (--out), made safe to use before any work starts:
//  * an empty path is refused (it used to train and claim to write "/encoder.safetensors");
//  * the folder is created and proven writable with a probe file, so a read-only or bogus
//    folder fails now, not after hours of training at the first checkpoint;
//  * an exclusive lock (flock on <out>/.lock, dropped by the kernel when the process dies) keeps
//    two runs from interleaving their logs and overwriting each other's checkpoints;
//  * temporary files left by killed atomic writes (<name>.tmp.<pid> of a pid that is gone, for
//    the kinds of file dcodr writes) are removed;
//  * a fresh run (no --resume) starts a fresh train_log.jsonl instead of appending to the old
//    run's log; a resumed run appends after trimming it to its checkpoint (trim_train_log).
#pragma once
#include <cstdint>
#include <string>

namespace dcodr::method {

class RunFolder {
public:
    RunFolder(const std::string& dir, bool resume);
    ~RunFolder();
    RunFolder(const RunFolder&) = delete;
    RunFolder& operator=(const RunFolder&) = delete;

    int removed_temp_files() const { return removed_; }

private:
    int lock_fd_ = -1;
    int removed_ = 0;
};

// Keeps the lines of a train_log.jsonl whose "step" is at most `last_step` and drops the rest,
// and any torn line a killed run left half-written. A resumed run continues from its
// checkpoint's step, so without this the steps an interrupted run logged after its last
// checkpoint would appear twice. Rewritten atomically (temp file + rename), and only when
// something is dropped; a missing file is left missing. Returns the number of lines dropped.
std::int64_t trim_train_log(const std::string& path, std::int64_t last_step);

}  // namespace dcodr::method
