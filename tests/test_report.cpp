// The run report (report/, data/bitmap_font, data/captioned_grid, method/retrieval_picture):
// base64, escaping, chart ticks, SVG/HTML well-formedness, the font and legends, and
// report.html's structure read back without a browser: every section, the numbers equal to
// eval.json's, the pictures embedded byte for byte, the charts written beside it.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "data/bitmap_font.h"
#include "data/captioned_grid.h"
#include "data/file_io.h"
#include "data/image.h"
#include "method/evaluation.h"
#include "method/retrieval_picture.h"
#include "nn/json.h"
#include "method/report/base64.h"
#include "method/report/escape.h"
#include "method/report/html_page.h"
#include "method/report/run_report.h"
#include "method/report/svg_chart.h"
#include "method/report/train_log.h"

using namespace dcodr;
namespace fs = std::filesystem;

namespace {

// An independent decoder (the test's own), to read embedded pictures back.
std::vector<std::uint8_t> base64_decode(const std::string& s) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    REQUIRE(s.size() % 4 == 0);
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i < s.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            if (s[i + k] == '=') {
                v[k] = 0;
                ++pad;
            } else {
                v[k] = value(s[i + k]);
                REQUIRE(v[k] >= 0);
            }
        }
        std::uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
        out.push_back(static_cast<std::uint8_t>(n >> 16));
        if (pad < 2) out.push_back(static_cast<std::uint8_t>(n >> 8));
        if (pad < 1) out.push_back(static_cast<std::uint8_t>(n));
    }
    return out;
}

// Tags balance (void HTML elements aside), text holds no raw '<', every '&' starts an entity.
// Returns "" when well formed, else what is wrong.
std::string markup_problem(const std::string& doc) {
    static const std::set<std::string> void_elements = {"meta", "img", "br", "hr", "link", "input"};
    static const std::regex entity("^&(amp|lt|gt|quot|#[0-9]+);");
    std::vector<std::string> open;
    for (std::size_t i = 0; i < doc.size(); ++i) {
        if (doc[i] == '&') {
            if (!std::regex_search(doc.substr(i, 8), entity)) return fmt::format("bare '&' at {}", i);
            continue;
        }
        if (doc[i] != '<') continue;
        std::size_t end = doc.find('>', i);
        if (end == std::string::npos) return fmt::format("unterminated tag at {}", i);
        std::string tag = doc.substr(i + 1, end - i - 1);
        i = end;
        if (tag.empty()) return "empty tag";
        if (tag[0] == '!' || tag[0] == '?') continue;
        const bool closing = tag[0] == '/';
        const bool self_closing = tag.back() == '/';
        std::string name;
        for (char c : tag.substr(closing ? 1 : 0))
            if (std::isalnum(static_cast<unsigned char>(c))) name += c;
            else break;
        if (name.empty()) return "tag without a name: <" + tag + ">";
        if (closing) {
            if (open.empty() || open.back() != name)
                return fmt::format("</{}> closes <{}>", name, open.empty() ? "nothing" : open.back());
            open.pop_back();
        } else if (!self_closing && !void_elements.count(name)) {
            open.push_back(name);
        }
    }
    return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

std::string unescape(std::string s) {
    for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}}) {
        for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + 1))
            s.replace(at, std::strlen(from), to);
    }
    return s;
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

fs::path fresh_dir(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / fmt::format("dcodr_test_report_{}_{}", name, ::getpid());
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

method::ProbeResult probe(const std::string& label, std::int64_t classes, double acc, double chance) {
    return method::ProbeResult{label, classes, acc, acc + 0.01, chance, 9};
}

// An evaluation with awkward numbers and a name that needs escaping.
method::EvalReport sample_eval(const std::string& name, double shift) {
    method::EvalReport r;
    r.name = name;
    r.domain = probe("domain", 4, 0.30729166666666669 + shift, 0.2541666666666667);
    r.attributes = {probe("floor_hue", 10, 0.93125 - shift, 0.1125), probe("hue<1>&co", 8, 1.0 / 3.0, 0.1375)};
    r.retrieval.attributes = {"floor_hue", "hue<1>&co"};
    r.retrieval.top1 = {0.871 - shift, 2.0 / 7.0};
    r.retrieval.top1_all = 0.0125 + shift;
    return r;
}

// The same with the protocol options main's evaluation has: a regressed attribute and a
// retrieval tolerance.
method::EvalReport sample_eval_with_protocol(const std::string& name) {
    method::EvalReport r = sample_eval(name, 0);
    r.protocol = "train->test";
    r.regressions.push_back({"landmarks", 10, 0.0123456789, 0.011, 0.0765432, 12});
    r.retrieval.match_rules = {"exact", "+-2 circular of 8"};
    return r;
}

void write_log(const fs::path& path, int steps, bool decoder, double lr = 1e-3) {
    std::ofstream out(path);
    for (int s = 1; s <= steps; ++s) {
        json::Value v = json::Value::object();
        v["step"] = s;
        v["epoch"] = s / 10;
        v["loss"] = 3.0 / s + 0.1;
        if (decoder) {
            v["loss_contrastive"] = 3.0 / s;
            v["loss_reconstruction"] = 0.25 - 0.001 * s;
        }
        v["lr"] = s > steps / 2 ? lr * 0.33 : lr;
        v["images_per_second"] = 40.0 + s;
        out << v.dump() << "\n";
    }
}

std::vector<std::uint8_t> write_png(const fs::path& path, float shade) {
    data::Image img(3, 6, 10, shade);
    img.at(0, 2, 3) = 1.0f;
    data::save_png(path.string(), img);
    return data::read_file(path.string());
}

struct MetricCell {
    std::string metric, run, text;
    double value;
};

std::vector<MetricCell> metric_cells(const std::string& html) {
    static const std::regex cell("data-metric=\"([^\"]*)\" data-value=\"([^\"]*)\"(?: data-run=\"([^\"]*)\")?>([^<]*)<");
    std::vector<MetricCell> cells;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), cell); it != std::sregex_iterator(); ++it)
        cells.push_back({unescape((*it)[1]), unescape((*it)[3]), (*it)[4], std::stod((*it)[2])});
    return cells;
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
}

std::vector<std::string> between(const std::string& s, const std::string& open, const std::string& close) {
    std::vector<std::string> out;
    for (std::size_t at = s.find(open); at != std::string::npos; at = s.find(open, at + 1)) {
        std::size_t end = s.find(close, at + open.size());
        REQUIRE(end != std::string::npos);
        out.push_back(s.substr(at, end + close.size() - at));
    }
    return out;
}

}  // namespace

TEST_CASE("base64 matches RFC 4648's vectors and round-trips every byte value", "[report]") {
    CHECK(report::base64_encode(std::string_view("")) == "");
    CHECK(report::base64_encode(std::string_view("f")) == "Zg==");
    CHECK(report::base64_encode(std::string_view("fo")) == "Zm8=");
    CHECK(report::base64_encode(std::string_view("foo")) == "Zm9v");
    CHECK(report::base64_encode(std::string_view("foob")) == "Zm9vYg==");
    CHECK(report::base64_encode(std::string_view("fooba")) == "Zm9vYmE=");
    CHECK(report::base64_encode(std::string_view("foobar")) == "Zm9vYmFy");
    for (std::size_t n = 0; n < 260; n += 1) {
        std::vector<std::uint8_t> bytes(n);
        for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>(255 - (i * 7) % 256);
        const std::string enc = report::base64_encode(bytes);
        CHECK(enc.size() == (n + 2) / 3 * 4);
        CHECK(base64_decode(enc) == bytes);
    }
}

TEST_CASE("markup escaping keeps names as text", "[report]") {
    CHECK(report::escape_markup("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
    CHECK(report::escape_markup("plain") == "plain");
    // The checker the report tests rely on does catch bad markup.
    CHECK(markup_problem("<svg><g></svg>") != "");
    CHECK(markup_problem("<p>a < b</p>") != "");
    CHECK(markup_problem("<p>a & b</p>") != "");
    CHECK(markup_problem("<p>a &amp; b<img src=\"x\"><br/></p>") == "");
}

TEST_CASE("chart ticks are round numbers covering the data", "[report]") {
    for (auto [lo, hi] : {std::pair{0.0, 1.0}, {0.1234, 2.987}, {-3.0, 0.5}, {1e-4, 3.3e-4}, {12.0, 31000.0}}) {
        auto t = report::nice_ticks(lo, hi, 5);
        REQUIRE(t.size() >= 2);
        CHECK(t.front() <= lo);
        CHECK(t.back() >= hi);
        CHECK(t.size() <= 12);
        const double step = t[1] - t[0];
        const double mant = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
        CHECK((std::abs(mant - 1) < 1e-6 || std::abs(mant - 2) < 1e-6 || std::abs(mant - 5) < 1e-6));
    }
    CHECK(report::format_tick(0.25, 0.05) == "0.25");
    CHECK(report::format_tick(3, 1) == "3");
    CHECK(report::format_tick(0, 0.2) == "0");
    CHECK(report::format_tick(2e-4, 1e-4) == "2e-4");
    CHECK(report::format_tick(2.5e-4, 5e-5) == "2.5e-4");
}

TEST_CASE("SVG charts are well formed, escape their text and draw every series", "[report]") {
    report::LineChart line;
    line.title = "loss <per step> & more";
    line.x_label = "step";
    line.y_label = "loss";
    line.series.push_back({"total", "#4e79a7", {1, 2, 3, 4}, {3, 2, NAN, 1}});
    line.series.push_back({"rec", "#f28e2b", {1, 2, 3, 4}, {0.5, 0.4, 0.3, 0.2}});
    const std::string svg = report::render_svg(line);
    INFO(svg);
    CHECK(markup_problem(svg) == "");
    CHECK(svg.find("loss &lt;per step&gt; &amp; more") != std::string::npos);
    // The NaN splits the first series in two polylines; the second is one.
    CHECK(between(svg, "<polyline", "/>").size() == 3);
    CHECK(svg.find(">total</text>") != std::string::npos);  // legend

    report::BarChart bars;
    bars.title = "domain";
    bars.categories = {"DCoDR", "a<b", "baseline"};
    bars.series.push_back({"acc", "#000000", {0.3, 0.5, 0.9}, {"#111111", "#222222", "#333333"}});
    bars.references.push_back({0.25, "chance 0.25"});
    bars.y_max = 1;
    const std::string b = report::render_svg(bars);
    INFO(b);
    CHECK(markup_problem(b) == "");
    CHECK(count(b, "</rect>") == 3);  // the bars (each carries a tooltip)
    CHECK(b.find("fill=\"#222222\"") != std::string::npos);
    CHECK(b.find("chance 0.25") != std::string::npos);
    CHECK(b.find(">0.90<") != std::string::npos);  // value label
    CHECK(b.find("a&lt;b") != std::string::npos);
    // Empty charts still render (a run with no log yet).
    CHECK(markup_problem(report::render_svg(report::LineChart{})) == "");
}

TEST_CASE("train_log.jsonl reads back as columns; a repeated step keeps its last line", "[report]") {
    fs::path dir = fresh_dir("log");
    {
        std::ofstream out(dir / "train_log.jsonl");
        out << "{\"step\":1,\"loss\":2.0,\"lr\":0.1}\n{\"step\":2,\"loss\":1.5,\"lr\":0.1}\n"
            << "{\"step\":2,\"loss\":1.25,\"lr\":0.1,\"images_per_second\":7}\nnot json\n"
            << "{\"step\":3,\"loss\":1.0,\"lr\":0.0";  // a killed run's half line
    }
    auto log = report::read_train_log((dir / "train_log.jsonl").string());
    REQUIRE(log.steps == std::vector<double>{1, 2});
    CHECK(log.columns.at("loss") == std::vector<double>{2.0, 1.25});
    CHECK(std::isnan(log.columns.at("images_per_second")[0]));
    CHECK(log.columns.at("images_per_second")[1] == 7);
    CHECK(log.unreadable_lines == 2);
    CHECK(log.has("lr"));
    CHECK(!log.has("loss_reconstruction"));
    CHECK(report::read_train_log((dir / "missing.jsonl").string()).empty());
    fs::remove_all(dir);
}

TEST_CASE("the bitmap font draws its glyphs exactly and tells them apart", "[report]") {
    const std::string legend_chars =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,:;|/()=+%<>[]#*&!?'\"~";
    std::map<std::array<std::uint8_t, data::kGlyphHeight>, char> seen;
    for (char c : legend_chars) {
        INFO(std::string(1, c));
        CHECK(data::has_glyph(c));
        auto [it, fresh] = seen.insert({data::glyph_rows(c), c});
        CHECK(fresh);  // no two characters look the same
    }
    CHECK(!data::has_glyph('\x01'));
    CHECK(data::glyph_rows('\x01') == data::glyph_rows('?'));
    CHECK(data::text_width("ab", 1) == 11);
    CHECK(data::text_width("ab", 2) == 22);
    CHECK(data::text_width("", 3) == 0);

    data::Image img(3, 20, 30, 1.0f);
    data::draw_text(img, 2, 3, "A7", {1.0f, 0.0f, 0.0f}, 2);
    for (int i = 0; i < 2; ++i) {
        const auto& rows = data::glyph_rows("A7"[i]);
        for (int r = 0; r < data::kGlyphHeight * 2; ++r)
            for (int x = 0; x < data::kGlyphWidth * 2; ++x) {
                const bool ink = rows[r / 2] & (1u << (4 - x / 2));
                const int px = 2 + i * data::kGlyphAdvance * 2 + x, py = 3 + r;
                CHECK(img.at(0, py, px) == 1.0f);
                CHECK(img.at(1, py, px) == (ink ? 0.0f : 1.0f));
            }
    }
    // Off-image text is clipped, not an error.
    data::draw_text(img, 28, 18, "WWW", {0, 0, 0}, 3);
}

TEST_CASE("a captioned grid places tiles, headers and coloured caption lines", "[report]") {
    std::vector<data::CaptionedTile> tiles;
    for (int i = 0; i < 4; ++i) {
        data::Image t(3, 4, 4, 0.1f * static_cast<float>(i));
        tiles.push_back({t, {{"v" + std::to_string(i), {0.0f, 0.5f, 0.0f}}}});
    }
    data::CaptionedGridOptions o;
    o.columns = 2;
    o.column_headers = {"query", "nearest 1"};
    o.tile_scale = 3;
    o.rule_after_column = 0;
    data::Image g = data::make_captioned_grid(tiles, o);
    // Column 0 is as wide as "query" (29 px > 12 px of tile); column 1 as wide as "nearest 1".
    CHECK(g.width == 8 + data::text_width("query") + 8 + 8 + data::text_width("nearest 1") + 8);
    // Tile 3 (row 1, column 1) holds 0.3, enlarged 3x.
    const std::int64_t col1 = 8 + data::text_width("query") + 8 + 8;
    const std::int64_t header = data::kGlyphHeight + 1 + 2, cell = 12 + 4 + data::kGlyphHeight + 1;
    const std::int64_t row1 = 8 + header + cell + 8;
    CHECK(g.at(0, row1, col1) == Approx(0.3f));
    CHECK(g.at(2, row1 + 11, col1 + 11) == Approx(0.3f));
    // Its caption is drawn in its colour somewhere under it.
    bool green = false;
    for (std::int64_t y = row1 + 12; y < row1 + cell; ++y)
        for (std::int64_t x = col1; x < col1 + 12; ++x) green = green || (g.at(1, y, x) == 0.5f && g.at(0, y, x) == 0.0f);
    CHECK(green);
    CHECK_THROWS(data::make_captioned_grid({}, o));
}

TEST_CASE("retrieval neighbours come from other domains, nearest first; captions colour matches", "[report]") {
    // Unit codes on a circle: angle decides similarity.
    auto codes = [](const std::vector<double>& angles) {
        std::vector<float> v;
        for (double a : angles) v.push_back(static_cast<float>(std::cos(a))), v.push_back(static_cast<float>(std::sin(a)));
        return Tensor::from_vector(v, {static_cast<std::int64_t>(angles.size()), 2});
    };
    Tensor q = codes({0.0, 3.0});
    Tensor pool = codes({0.01, 0.2, 0.1, 3.05, 2.5, 0.05});
    auto nn = method::nearest_in_other_domains(q, {0, 1}, pool, {0, 1, 1, 1, 0, 2}, 2);
    CHECK(nn[0] == std::vector<std::int64_t>{5, 2});  // 0.01 is the query's own domain
    CHECK(nn[1] == std::vector<std::int64_t>{4, 5});
    CHECK(method::nearest_in_other_domains(q, {0, 1}, pool, {0, 1, 1, 1, 0, 2}, 9)[0].size() == 4);

    data::Dataset ds;
    ds.count = 2;
    ds.n_domains = 2;
    ds.domains = {0, 1};
    ds.domain_names = {"cube", "ball"};
    ds.attribute_names = {"hue", "size"};
    ds.attribute_classes = {3, 3};
    ds.attribute_value_names = {{}, {"small", "mid", "big"}};
    ds.attributes = {1, 2, 1, 0};
    auto query = method::label_caption(ds, 0);
    REQUIRE(query.size() == 3);
    CHECK(query[0].text == "cube");
    CHECK(query[2].text == "size big");
    auto other = method::label_caption(ds, 1, &ds, 0);
    CHECK(other[1].text == "hue 1");
    CHECK(other[1].colour[1] > other[1].colour[0]);  // same as the query's: green
    CHECK(other[2].text == "size small");
    CHECK(other[2].colour[0] > other[2].colour[1]);  // different: red
}

TEST_CASE("report.html of one evaluated run: every section, eval.json's numbers, the picture, the charts",
          "[report]") {
    fs::path dir = fresh_dir("train");
    write_log(dir / "train_log.jsonl", 40, true);
    const method::EvalReport eval = sample_eval_with_protocol("DCoDR");
    {
        std::ofstream out(dir / "eval.json");
        out << eval.to_json().dump(2);
    }
    const auto png = write_png(dir / "retrieval_other_domains.png", 0.5f);
    // The report is fed the JSON read back from the file, as a reader of eval.json would see it.
    const json::Value eval_file = json::parse(read_text(dir / "eval.json"));
    report::ReportedRun run{"DCoDR", "", "", eval_file, json::parse(R"({"encoder": {"depth": 18}, "tau": 0.1})")};
    auto files = report::write_run_report(
        dir.string(), {"dcodr train <test>", "dcodr train --out x", {run}, {{"dcodr version", "0.1.0"}, {"device", "cpu"}}});
    const std::string html = read_text(files.html);
    CHECK(files.html == (dir / "report.html").string());
    INFO(markup_problem(html));
    CHECK(markup_problem(html) == "");
    for (const auto& id : report::report_section_ids())
        CHECK(html.find("<section id=\"" + id + "\">") != std::string::npos);
    CHECK(html.find("dcodr train &lt;test&gt;") != std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("src=\"http") == std::string::npos);
    CHECK(html.find("hue<1>") == std::string::npos);  // escaped everywhere

    // Every number: the cell's full-precision value equals eval.json's, and its text is it rounded.
    const auto cells = metric_cells(html);
    std::map<std::string, double> want;
    want["probe:domain"] = eval_file.at("domain").at("test_accuracy").as_double();
    want["chance:domain"] = eval_file.at("domain").at("chance").as_double();
    for (const auto& [name, p] : eval_file.at("attributes").as_object()) {
        want["probe:" + name] = p.at("test_accuracy").as_double();
        want["chance:" + name] = p.at("chance").as_double();
    }
    for (const auto& [name, v] : eval_file.at("retrieval_top1").as_object()) want["retrieval:" + name] = v.as_double();
    for (const auto& [name, v] : eval_file.at("regression").as_object()) {
        want["regression:" + name] = v.at("test_mae").as_double();
        want["baseline_mae:" + name] = v.at("baseline_mae").as_double();
    }
    std::set<std::string> found;
    for (const auto& c : cells) {
        INFO(c.metric);
        REQUIRE(want.count(c.metric));
        CHECK(c.value == want.at(c.metric));  // exact: printed with 17 significant digits
        const bool mae = c.metric.rfind("regression:", 0) == 0 || c.metric.rfind("baseline_mae:", 0) == 0;
        CHECK(c.text == fmt::format("{:.{}f}", want.at(c.metric), mae ? 4 : 3));
        found.insert(c.metric);
    }
    CHECK(found.size() == want.size());
    CHECK(cells.size() == want.size());

    // The picture, embedded byte for byte.
    const auto imgs = between(html, "src=\"data:image/png;base64,", "\"");
    REQUIRE(imgs.size() == 1);
    const std::string payload = imgs[0].substr(std::strlen("src=\"data:image/png;base64,"),
                                               imgs[0].size() - std::strlen("src=\"data:image/png;base64,") - 1);
    CHECK(base64_decode(payload) == png);
    CHECK(html.find("<img alt=\"Retrieval across domains\" width=\"30\" src=") != std::string::npos);  // 10 px, shown 3x

    // Charts: a loss chart with three terms, lr, throughput, one per probe label, retrieval;
    // inline and beside the report, each well formed.
    CHECK(files.charts.size() == 1 + 2 + 3 + 1);
    const auto inline_svgs = between(html, "<svg", "</svg>");
    CHECK(inline_svgs.size() == files.charts.size());
    for (const auto& path : files.charts) {
        INFO(path);
        const std::string svg = read_text(path);
        CHECK(markup_problem(svg) == "");
        CHECK(std::find(inline_svgs.begin(), inline_svgs.end(), svg.substr(0, svg.size() - 1)) != inline_svgs.end());
    }
    const std::string loss = read_text(dir / "chart_loss_dcodr.svg");
    for (const char* term : {">total<", ">contrastive<", ">reconstruction<"}) CHECK(loss.find(term) != std::string::npos);
    CHECK(html.find("0.1.0") != std::string::npos);  // build
    CHECK(html.find("Protocol: train-&gt;test.") != std::string::npos);
    CHECK(html.find("<td>+-2 circular of 8</td>") != std::string::npos);  // how retrieval counted a match
    CHECK(html.find("encoder.depth") != std::string::npos);  // configuration, flattened
    fs::remove_all(dir);
}

TEST_CASE("report.html without an evaluation says so; a demo-like report shows runs side by side", "[report]") {
    fs::path dir = fresh_dir("demo");
    write_log(dir / "train_log.jsonl", 5, false);
    auto files = report::write_run_report(dir.string(), {"t", "", {{"standard", "", "", json::Value(), json::Value()}}, {}});
    std::string html = read_text(files.html);
    CHECK(markup_problem(html) == "");
    for (const auto& id : report::report_section_ids())
        CHECK(html.find("<section id=\"" + id + "\">") != std::string::npos);
    CHECK(html.find("Not evaluated") != std::string::npos);
    CHECK(metric_cells(html).empty());
    CHECK(files.charts.size() == 3);  // loss, lr, throughput

    // Three runs in sub-folders, as dcodr demo writes them.
    std::vector<report::ReportedRun> runs;
    std::vector<std::vector<std::uint8_t>> pngs;
    const std::vector<std::pair<std::string, std::string>> names = {
        {"DCoDR", "dcodr"}, {"DCoDR-norec", "domain_wise"}, {"baseline", "standard"}};
    for (std::size_t i = 0; i < names.size(); ++i) {
        fs::create_directories(dir / names[i].second);
        write_log(dir / names[i].second / "train_log.jsonl", 20, i == 0, 1e-3 * static_cast<double>(i + 1));
        pngs.push_back(write_png(dir / names[i].second / "retrieval_other_domains.png", 0.2f * static_cast<float>(i)));
        json::Value e = sample_eval(names[i].first, 0.1 * static_cast<double>(i)).to_json();
        e["train_seconds"] = 10.5 + static_cast<double>(i);
        runs.push_back({names[i].first, names[i].second, "", e,
                        json::parse(fmt::format(R"({{"loss": {{"mode": "{}"}}, "tau": 0.1}})", i == 2 ? "standard" : "domain_wise"))});
    }
    pngs.push_back(write_png(dir / "dcodr" / "translate.png", 0.9f));
    files = report::write_run_report(dir.string(), {"dcodr demo", "", runs, {}});
    html = read_text(files.html);
    CHECK(markup_problem(html) == "");
    const auto cells = metric_cells(html);
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const json::Value& e = runs[i].eval;
        std::map<std::string, double> want = {
            {"probe:domain", e.at("domain").at("test_accuracy").as_double()},
            {"probe:floor_hue", e.at("attributes").at("floor_hue").at("test_accuracy").as_double()},
            {"retrieval:all", e.at("retrieval_top1").at("all").as_double()},
            {"extra:train_seconds", e.at("train_seconds").as_double()}};
        for (const auto& [metric, value] : want) {
            auto it = std::find_if(cells.begin(), cells.end(),
                                   [&](const MetricCell& c) { return c.metric == metric && c.run == runs[i].name; });
            INFO(metric << " " << runs[i].name);
            REQUIRE(it != cells.end());
            CHECK(it->value == value);
        }
    }
    // Per probe label, one chart with a bar per run (and the chance line).
    const std::string domain_chart = read_text(dir / "chart_probe_domain.svg");
    CHECK(count(domain_chart, "</rect>") == 3);
    CHECK(domain_chart.find("chance 0.25") != std::string::npos);
    CHECK(fs::exists(dir / "chart_loss_dcodr_norec.svg"));
    // All four pictures embedded, in run order.
    const auto imgs = between(html, "src=\"data:image/png;base64,", "\"");
    REQUIRE(imgs.size() == 4);
    const std::size_t prefix = std::strlen("src=\"data:image/png;base64,");
    CHECK(base64_decode(imgs[0].substr(prefix, imgs[0].size() - prefix - 1)) == pngs[0]);
    CHECK(base64_decode(imgs[1].substr(prefix, imgs[1].size() - prefix - 1)) == pngs[3]);  // dcodr/translate.png
    CHECK(base64_decode(imgs[3].substr(prefix, imgs[3].size() - prefix - 1)) == pngs[2]);
    // The configuration table marks where the runs differ.
    CHECK(html.find("<td class=\"differs\">loss.mode</td>") != std::string::npos);
    CHECK(html.find("<td>tau</td>") != std::string::npos);  // the same in every run: not marked
    fs::remove_all(dir);
}
