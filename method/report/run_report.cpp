#include "method/report/run_report.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <functional>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "data/file_io.h"
#include "nn/atomic_file.h"
#include "method/report/escape.h"
#include "method/report/html_page.h"
#include "method/report/svg_chart.h"
#include "method/report/train_log.h"
#include "tensor/error.h"

namespace dcodr::report {

namespace fs = std::filesystem;

namespace {

// The fields EvalReport::to_json writes; any other number in a run's eval JSON (the demo's
// train_seconds, reconstruction_error, ...) is listed under "more numbers".
const std::set<std::string> kEvalFields = {"name",       "domain",         "attributes",      "retrieval_top1",
                                           "regression", "retrieval_match", "protocol", "config"};

std::string slug(const std::string& s) {
    std::string out;
    for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
    return out.empty() ? "run" : out;
}

std::string full_precision(double v) { return fmt::format("{:.17g}", v); }

TableCell number_cell(double v, const std::string& metric, const std::string& run, int decimals = 3) {
    TableCell c{fmt::format("{:.{}f}", v, decimals), {{"data-metric", metric}, {"data-value", full_precision(v)}},
                "num", false};
    if (!run.empty()) c.attributes.push_back({"data-run", run});
    return c;
}

TableCell label_cell(const std::string& s) { return TableCell{s, {}, "", true}; }

// Bin means, so a 30 000-step log still draws as a light polyline.
void downsample(const std::vector<double>& x, const std::vector<double>& y, std::size_t max_points,
                std::vector<double>& ox, std::vector<double>& oy) {
    if (x.size() <= max_points) {
        ox = x, oy = y;
        return;
    }
    const std::size_t bin = (x.size() + max_points - 1) / max_points;
    for (std::size_t at = 0; at < x.size(); at += bin) {
        double sx = 0, sy = 0;
        std::size_t n = 0, end = std::min(x.size(), at + bin);
        for (std::size_t i = at; i < end; ++i)
            if (std::isfinite(y[i])) sx += x[i], sy += y[i], ++n;
        ox.push_back(n ? sx / static_cast<double>(n) : x[at]);
        oy.push_back(n ? sy / static_cast<double>(n) : NAN);
    }
}

// Exponential moving average over ~n/25 steps, bias-corrected so it starts at the first value.
std::vector<double> smooth(const std::vector<double>& y) {
    const double window = std::max(1.0, static_cast<double>(y.size()) / 25.0);
    const double a = std::exp(-1.0 / window);
    std::vector<double> out(y.size(), NAN);
    double ema = 0, weight = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        if (!std::isfinite(y[i])) continue;
        ema = a * ema + (1 - a) * y[i];
        weight = a * weight + (1 - a);
        out[i] = ema / weight;
    }
    return out;
}

struct Charts {
    std::string folder;
    std::vector<std::string> files;
    // Writes the chart beside the report and returns its markup for inlining.
    std::string add(const std::string& name, const std::string& svg) {
        const std::string path = (fs::path(folder) / ("chart_" + name + ".svg")).string();
        nn::write_file_atomic(path, svg);
        files.push_back(path);
        return svg;
    }
};

std::string log_path(const std::string& folder, const ReportedRun& run) {
    if (!run.train_log.empty()) return (fs::path(folder) / run.train_log).string();
    return (fs::path(folder) / run.folder / "train_log.jsonl").string();
}

// ---- sections ----

void training_section(HtmlPage& page, Charts& charts, const std::string& folder, const RunReport& r) {
    page.begin_section("training", "Training");
    std::vector<TrainLog> logs;
    for (const auto& run : r.runs) logs.push_back(read_train_log(log_path(folder, run)));
    bool any = false;
    page.begin_grid();
    struct Term {
        const char* field;
        const char* name;
    };
    for (std::size_t i = 0; i < r.runs.size(); ++i) {
        const TrainLog& log = logs[i];
        if (log.empty()) continue;
        any = true;
        const bool decoder = log.has("loss_reconstruction");
        std::vector<Term> terms = decoder ? std::vector<Term>{{"loss", "total"},
                                                              {"loss_contrastive", "contrastive"},
                                                              {"loss_reconstruction", "reconstruction"}}
                                          : std::vector<Term>{{"loss", "contrastive loss"}};
        LineChart c;
        c.title = r.runs.size() > 1 ? r.runs[i].name + ": loss" : "Loss";
        c.x_label = "step";
        c.y_label = "loss";
        for (std::size_t t = 0; t < terms.size(); ++t) {
            if (!log.has(terms[t].field)) continue;
            const auto& y = log.columns.at(terms[t].field);
            const std::string& colour = palette_colour(t);
            LineSeries raw{std::string(terms[t].name) + " (per step)", colour, {}, {}, 1, 0.3, false};
            downsample(log.steps, y, 1500, raw.x, raw.y);
            LineSeries smoothed{terms[t].name, colour, {}, {}, 2.2, 1, true};
            downsample(log.steps, smooth(y), 1500, smoothed.x, smoothed.y);
            c.series.push_back(std::move(raw));
            c.series.push_back(std::move(smoothed));
        }
        page.raw(charts.add("loss_" + slug(r.runs[i].name), render_svg(c)));
    }
    // The learning rate and the throughput, one line per run.
    for (auto [field, title, y_label] : {std::tuple{"lr", "Learning rate", "learning rate"},
                                         std::tuple{"images_per_second", "Throughput", "images / s"}}) {
        LineChart c;
        c.title = title;
        c.x_label = "step";
        c.y_label = y_label;
        c.height = 260;
        c.y_from_zero = true;
        for (std::size_t i = 0; i < r.runs.size(); ++i) {
            if (!logs[i].has(field)) continue;
            LineSeries s{r.runs[i].name, palette_colour(i), {}, {}, 2, 1, r.runs.size() > 1};
            downsample(logs[i].steps, logs[i].columns.at(field), 1500, s.x, s.y);
            c.series.push_back(std::move(s));
        }
        if (!c.series.empty()) page.raw(charts.add(slug(title), render_svg(c)));
    }
    page.end_grid();
    if (!any) page.paragraph("No training log (train_log.jsonl) found for this folder.", "note");
    else
        page.paragraph("Thin lines: every step; thick lines: their moving average. Images/s is the running average "
                       "since the start of the run (or of its resumption).",
                       "note");
    for (std::size_t i = 0; i < logs.size(); ++i)
        if (logs[i].unreadable_lines > 0)
            page.paragraph(fmt::format("{}: {} unreadable line(s) in its train_log.jsonl were skipped.", r.runs[i].name,
                                       logs[i].unreadable_lines),
                           "note");
    page.end_section();
}

struct Evaluated {
    std::string name;
    std::size_t colour;
    const json::Value* eval;
};

// The probe labels (domain first, then the attributes) in the first evaluated run's order.
std::vector<std::string> probe_labels(const std::vector<Evaluated>& runs) {
    std::vector<std::string> labels{"domain"};
    if (const json::Value* attrs = runs.front().eval->find("attributes"))
        for (const auto& [name, v] : attrs->as_object()) labels.push_back(name);
    return labels;
}

const json::Value* probe(const json::Value& eval, const std::string& label) {
    if (label == "domain") return eval.find("domain");
    const json::Value* attrs = eval.find("attributes");
    return attrs ? attrs->find(label) : nullptr;
}

// Attributes probed by regression (--probe-regress, landmarks): mean absolute error, lower is
// better, against predicting the mean.
void regression_table(HtmlPage& page, const std::vector<Evaluated>& runs) {
    std::vector<std::string> labels;
    for (const auto& r : runs)
        if (const json::Value* regs = r.eval->find("regression"))
            for (const auto& [name, v] : regs->as_object())
                if (std::find(labels.begin(), labels.end(), name) == labels.end()) labels.push_back(name);
    if (labels.empty()) return;
    page.heading("Regressed attributes (mean absolute error, lower = better)");
    Table t;
    t.head.push_back("label");
    for (const auto& r : runs) t.head.push_back(r.name);
    t.head.push_back("predicting the mean");
    for (const auto& label : labels) {
        std::vector<TableCell> row{label_cell(label)};
        const json::Value* baseline = nullptr;
        for (const auto& r : runs) {
            const json::Value* regs = r.eval->find("regression");
            const json::Value* e = regs ? regs->find(label) : nullptr;
            if (e && !baseline) baseline = e->find("baseline_mae");
            row.push_back(e ? number_cell(e->at("test_mae").as_double(), "regression:" + label, r.name, 4)
                            : TableCell{"-", {}, "num", false});
        }
        row.push_back(baseline ? number_cell(baseline->as_double(), "baseline_mae:" + label, "", 4)
                               : TableCell{"-", {}, "num", false});
        t.rows.push_back(std::move(row));
    }
    page.table(t);
}

void probes_section(HtmlPage& page, Charts& charts, const std::vector<Evaluated>& runs) {
    page.begin_section("probes", "Probe accuracy");
    if (runs.empty()) {
        page.paragraph("Not evaluated: run dcodr train with --eval, or dcodr eval.", "note");
        page.end_section();
        return;
    }
    page.paragraph("Test accuracy of an MLP probe trained on the codes to predict each label. The domain: lower is "
                   "better (near chance = the code is invariant to the domain). Attributes: higher is better (the code "
                   "keeps them). Chance = the most frequent class's share of the test set.");
    Table t;
    t.head.push_back("label");
    for (const auto& r : runs) t.head.push_back(r.name);
    t.head.push_back("chance");
    std::vector<std::string> svgs;  // one bar chart per label, shown under the table
    for (const auto& label : probe_labels(runs)) {
        std::vector<TableCell> row{label_cell(label == "domain" ? "domain (lower = better)" : label)};
        std::vector<double> values;
        double chance = NAN;
        for (const auto& r : runs) {
            const json::Value* p = probe(*r.eval, label);
            if (!p) {
                row.push_back({"-", {}, "num", false});
                values.push_back(NAN);
                continue;
            }
            double v = p->at("test_accuracy").as_double();
            values.push_back(v);
            if (std::isnan(chance)) chance = p->at("chance").as_double();
            row.push_back(number_cell(v, "probe:" + label, r.name));
        }
        if (runs.size() > 1) {  // mark the best run: the lowest domain accuracy, the highest attribute one
            std::size_t best = 0;
            for (std::size_t i = 1; i < values.size(); ++i)
                if (label == "domain" ? values[i] < values[best] : values[i] > values[best]) best = i;
            row[best + 1].css_class += " best";
        }
        row.push_back(std::isnan(chance) ? TableCell{"-", {}, "num", false} : number_cell(chance, "chance:" + label, ""));
        t.rows.push_back(std::move(row));

        BarChart c;
        c.title = label == "domain" ? "domain (lower = better)" : label;
        c.y_label = "test accuracy";
        c.y_max = 1;
        c.width = runs.size() > 1 ? 350 : 250;
        BarSeries s{"test accuracy", palette_colour(0), values, {}};
        for (const auto& r : runs) {
            c.categories.push_back(r.name);
            s.colours.push_back(palette_colour(r.colour));
        }
        c.series.push_back(std::move(s));
        if (!std::isnan(chance)) c.references.push_back({chance, fmt::format("chance {:.3f}", chance)});
        svgs.push_back(charts.add("probe_" + slug(label), render_svg(c)));
    }
    page.table(t);
    page.begin_grid();
    for (const auto& svg : svgs) page.raw(svg);
    page.end_grid();
    if (const json::Value* protocol = runs.front().eval->find("protocol"); protocol && protocol->is_string())
        page.paragraph("Protocol: " + protocol->as_string() + ".", "note");
    regression_table(page, runs);
    // More numbers some runs carry (the demo: training time, first/last loss, reconstruction error).
    std::vector<std::string> extra;
    for (const auto& r : runs)
        for (const auto& [key, v] : r.eval->as_object())
            if (!kEvalFields.count(key) && v.is_number() && std::find(extra.begin(), extra.end(), key) == extra.end())
                extra.push_back(key);
    if (!extra.empty()) {
        page.heading("More numbers");
        Table m;
        m.head.push_back("");
        for (const auto& r : runs) m.head.push_back(r.name);
        for (const auto& key : extra) {
            std::vector<TableCell> row{label_cell(key)};
            for (const auto& r : runs) {
                const json::Value* v = r.eval->find(key);
                row.push_back(v && v->is_number() ? number_cell(v->as_double(), "extra:" + key, r.name, 4)
                                                  : TableCell{"-", {}, "num", false});
            }
            m.rows.push_back(std::move(row));
        }
        page.table(m);
    }
    page.end_section();
}

void retrieval_section(HtmlPage& page, Charts& charts, const std::vector<Evaluated>& runs) {
    page.begin_section("retrieval", "Retrieval top-1");
    if (runs.empty()) {
        page.paragraph("Not evaluated: run dcodr train with --eval, or dcodr eval.", "note");
        page.end_section();
        return;
    }
    page.paragraph("For each test image, its nearest code among all other images: the share whose attribute matches "
                   "(all: every attribute at once). Higher is better.");
    std::vector<std::string> attrs;
    if (const json::Value* r0 = runs.front().eval->find("retrieval_top1"))
        for (const auto& [name, v] : r0->as_object()) attrs.push_back(name);
    // How a match is counted, where it is not plain equality (a tolerance, circular attributes).
    const json::Value* rules = runs.front().eval->find("retrieval_match");
    Table t;
    t.head.push_back("attribute");
    for (const auto& r : runs) t.head.push_back(r.name);
    if (rules) t.head.push_back("match");
    BarChart c;
    c.title = "Retrieval top-1";
    c.y_label = "top-1 match";
    c.y_max = 1;
    // Wide enough for the attribute names under each group of bars.
    const int group = std::max(110, 36 * static_cast<int>(runs.size()) + 30);
    c.width = std::min(1080, 100 + group * static_cast<int>(attrs.size()));
    for (const auto& r : runs) c.series.push_back({r.name, palette_colour(r.colour), {}, {}});
    for (const auto& a : attrs) {
        c.categories.push_back(a == "all" ? "all attributes" : a);
        std::vector<TableCell> row{label_cell(a == "all" ? "all attributes" : a)};
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const json::Value* top1 = runs[i].eval->find("retrieval_top1");
            const json::Value* v = top1 ? top1->find(a) : nullptr;
            c.series[i].values.push_back(v ? v->as_double() : NAN);
            row.push_back(v ? number_cell(v->as_double(), "retrieval:" + a, runs[i].name)
                            : TableCell{"-", {}, "num", false});
        }
        if (rules) {
            const json::Value* rule = rules->find(a);
            row.push_back({rule && rule->is_string() ? rule->as_string() : "", {}, "", false});
        }
        t.rows.push_back(std::move(row));
    }
    page.table(t);
    if (!attrs.empty()) {
        page.begin_grid();
        page.raw(charts.add("retrieval_top1", render_svg(c)));
        page.end_grid();
    }
    page.end_section();
}

void pictures_section(HtmlPage& page, const std::string& folder, const RunReport& r) {
    page.begin_section("pictures", "Pictures");
    bool any = false;
    for (const auto& run : r.runs)
        for (const auto& pic : known_pictures()) {
            const fs::path path = fs::path(folder) / run.folder / pic.file;
            if (!fs::exists(path)) continue;
            any = true;
            page.heading(r.runs.size() > 1 ? run.name + ": " + pic.title : pic.title);
            page.png(data::read_file(path.string()), pic.title,
                     std::string(pic.caption) + " (" + (fs::path(run.folder) / pic.file).generic_string() + ")",
                     900);
        }
    if (!any) page.paragraph("No pictures in this folder (they are drawn with the evaluation).", "note");
    page.end_section();
}

// Nested objects become dotted keys: {"encoder": {"depth": 18}} -> encoder.depth = 18.
void flatten(const json::Value& v, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out) {
    if (v.is_object()) {
        for (const auto& [key, child] : v.as_object()) flatten(child, prefix.empty() ? key : prefix + "." + key, out);
        return;
    }
    out.push_back({prefix, v.is_string() ? v.as_string() : v.dump()});
}

void configuration_section(HtmlPage& page, const RunReport& r) {
    page.begin_section("configuration", "Configuration");
    std::vector<std::string> keys;
    std::vector<std::vector<std::pair<std::string, std::string>>> flat(r.runs.size());
    for (std::size_t i = 0; i < r.runs.size(); ++i) {
        if (r.runs[i].config.is_null()) continue;
        flatten(r.runs[i].config, "", flat[i]);
        for (const auto& [k, v] : flat[i])
            if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
    if (keys.empty()) {
        page.paragraph("No training configuration is known for this folder.", "note");
    } else {
        Table t;
        t.css_class = "kv";
        t.head.push_back("option");
        for (const auto& run : r.runs) t.head.push_back(r.runs.size() > 1 ? run.name : "value");
        for (const auto& k : keys) {
            std::vector<std::string> values;
            for (const auto& f : flat) {
                auto it = std::find_if(f.begin(), f.end(), [&](const auto& kv) { return kv.first == k; });
                values.push_back(it == f.end() ? "" : it->second);
            }
            const bool differs = std::adjacent_find(values.begin(), values.end(), std::not_equal_to<>()) != values.end();
            std::vector<TableCell> row{TableCell{k, {}, differs ? "differs" : "", false}};
            for (const auto& v : values) row.push_back(TableCell{v, {}, differs ? "differs" : "", false});
            t.rows.push_back(std::move(row));
        }
        if (r.runs.size() > 1) page.paragraph("Highlighted: where the runs differ.", "note");
        page.table(t);
    }
    page.end_section();
}

void build_section(HtmlPage& page, const RunReport& r) {
    page.begin_section("build", "Build");
    Table t;
    t.css_class = "kv";
    for (const auto& [k, v] : r.build) t.rows.push_back({TableCell{k, {}, "", false}, TableCell{v, {}, "", false}});
    page.table(t);
    page.end_section();
}

std::string utc_now() {
    std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

}  // namespace

const std::vector<KnownPicture>& known_pictures() {
    static const std::vector<KnownPicture> pictures = {
        {"retrieval_other_domains.png", "Retrieval across domains",
         "Each row: a test image (query, left), then its nearest training images by code among the other domains. "
         "Under each picture its domain and attribute values; green = the same value as the query's, red = "
         "different. A domain-invariant code finds the query's colours, scale and orientation in another domain"},
        {"translate.png", "Domain swap",
         "Each row: a test image (left), then the decoder's rendering of its code with each domain's latent "
         "(one column per domain): the content should stay, the domain change"},
        {"translate_reconstructions.png", "Reconstructions",
         "Top row: test images; bottom row: the decoder's reconstruction of each from its code and its own domain"},
    };
    return pictures;
}

const std::vector<std::string>& report_section_ids() {
    static const std::vector<std::string> ids = {"training", "probes", "retrieval", "pictures", "configuration",
                                                 "build"};
    return ids;
}

ReportFiles write_run_report(const std::string& folder, const RunReport& r) {
    DCODR_CHECK(!r.runs.empty(), "report for {}: no runs to report", folder);
    Charts charts{folder, {}};
    HtmlPage page(r.title);
    page.raw("<h1>" + escape_markup(r.title) + "</h1>\n");
    if (!r.command.empty()) page.preformatted(r.command);
    page.paragraph(fmt::format("Written {} in {}.", utc_now(), fs::absolute(folder).lexically_normal().string()),
                   "note");
    std::string nav = "<nav>";
    for (const auto& [id, title] : std::vector<std::pair<std::string, std::string>>{
             {"training", "Training"}, {"probes", "Probes"}, {"retrieval", "Retrieval"}, {"pictures", "Pictures"},
             {"configuration", "Configuration"}, {"build", "Build"}})
        nav += "<a href=\"#" + id + "\">" + title + "</a>";
    page.raw(nav + "</nav>\n");

    std::vector<Evaluated> evaluated;
    for (std::size_t i = 0; i < r.runs.size(); ++i)
        if (r.runs[i].eval.is_object()) evaluated.push_back({r.runs[i].name, i, &r.runs[i].eval});
    training_section(page, charts, folder, r);
    probes_section(page, charts, evaluated);
    retrieval_section(page, charts, evaluated);
    pictures_section(page, folder, r);
    configuration_section(page, r);
    build_section(page, r);

    const std::string html = (fs::path(folder) / "report.html").string();
    nn::write_file_atomic(html, page.str());
    return {html, charts.files};
}

}  // namespace dcodr::report
