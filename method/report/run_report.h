// report.html for a run folder (dcodr train / eval / demo): the training curves from
// train_log.jsonl, the probe table with a bar chart per label, retrieval top-1, the pictures the
// run drew (retrieval, domain swap, reconstructions), the configuration and the build. One
// self-contained file (inline SVG, PNGs as data: URIs, no script); every chart is also written
// as an .svg beside it. Numbers are printed rounded, and carried at full precision in the cell's
// data-value attribute (data-metric names which number), so a program can read them back.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "nn/json.h"

namespace dcodr::report {

struct ReportedRun {
    std::string name;       // "DCoDR": the run's column and legend entry
    std::string folder;     // its files (train_log.jsonl, pictures), relative to the report's folder; "" = same
    std::string train_log;  // path of its log relative to the report's folder; "" = <folder>/train_log.jsonl
    json::Value eval;       // method::EvalReport::to_json(), optionally with more numbers; null: not evaluated
    json::Value config;     // method::TrainConfig::to_json(); null: unknown
};

struct RunReport {
    std::string title;    // e.g. "dcodr demo"
    std::string command;  // the command line that made the folder, shown as is
    std::vector<ReportedRun> runs;
    std::vector<std::pair<std::string, std::string>> build;  // version, backends, device, threads, ...
};

// The pictures a run folder may hold and what each shows; the report embeds those present.
struct KnownPicture {
    const char* file;
    const char* title;
    const char* caption;
};
const std::vector<KnownPicture>& known_pictures();

struct ReportFiles {
    std::string html;                 // <folder>/report.html
    std::vector<std::string> charts;  // <folder>/chart_*.svg
};

// Writes report.html and the charts into `folder` (atomically, file by file).
ReportFiles write_run_report(const std::string& folder, const RunReport& report);

// The section ids of report.html, in order (the structure test checks each is present).
const std::vector<std::string>& report_section_ids();

}  // namespace dcodr::report
