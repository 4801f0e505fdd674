// train_log.jsonl (one JSON object per training step, written by method::Trainer) read back as
// columns for the report's curves.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace dcodr::report {

struct TrainLog {
    std::vector<double> steps;                          // ascending, each step once
    std::map<std::string, std::vector<double>> columns; // field -> one value per step (NaN where absent)
    int unreadable_lines = 0;  // e.g. the half-written last line of a killed run: skipped, counted

    bool empty() const { return steps.empty(); }
    bool has(const std::string& field) const;  // present with at least one finite value
};

// Reads every numeric field of every line. A step logged twice (a resumed run that repeats steps
// after its last checkpoint) keeps its last line. A missing file gives an empty log.
TrainLog read_train_log(const std::string& path);

}  // namespace dcodr::report
