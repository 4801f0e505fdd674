#include "method/report/html_page.h"

#include <algorithm>

#include <fmt/format.h>

#include "method/report/base64.h"
#include "method/report/escape.h"
#include "tensor/error.h"

namespace dcodr::report {

namespace {

// Readable on a laptop screen and printed; the charts keep their own pixel sizes.
constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 0 auto; max-width: 1120px;
       padding: 16px 24px 48px; line-height: 1.4; background: #fff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #4e79a7; }
h3 { font-size: 16px; margin: 18px 0 6px; }
p { margin: 6px 0; }
p.note { color: #555; font-size: 14px; }
nav a { margin-right: 14px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { border: 1px solid #d0d0d0; padding: 4px 10px; text-align: left; }
thead th { background: #eef2f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: bold; }
td.differs, th.differs { background: #fff6d6; }
table.kv td:first-child { color: #555; }
pre { background: #f6f6f6; padding: 8px 10px; overflow-x: auto; font-size: 13px; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.grid svg { border: 1px solid #e0e0e0; }
figure { margin: 10px 0 18px; }
figure img { max-width: 100%; image-rendering: pixelated; border: 1px solid #e0e0e0; }
figcaption { color: #444; font-size: 14px; margin-top: 4px; max-width: 900px; }
)";

}  // namespace

HtmlPage::HtmlPage(std::string title) : title_(std::move(title)) {}

void HtmlPage::begin_section(const std::string& id, const std::string& title) {
    DCODR_CHECK(!in_section_, "report: section '{}' opened inside another", id);
    in_section_ = true;
    body_ += fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", escape_markup(id), escape_markup(title));
}

void HtmlPage::end_section() {
    DCODR_CHECK(in_section_, "report: end_section without a section");
    in_section_ = false;
    body_ += "</section>\n";
}

void HtmlPage::heading(const std::string& text) { body_ += "<h3>" + escape_markup(text) + "</h3>\n"; }

void HtmlPage::paragraph(const std::string& text, const std::string& css_class) {
    body_ += (css_class.empty() ? "<p>" : "<p class=\"" + escape_markup(css_class) + "\">") + escape_markup(text) +
             "</p>\n";
}

void HtmlPage::table(const Table& t) {
    body_ += t.css_class.empty() ? "<table>\n" : "<table class=\"" + escape_markup(t.css_class) + "\">\n";
    if (!t.head.empty()) {
        body_ += "<thead><tr>";
        for (const auto& h : t.head) body_ += "<th>" + escape_markup(h) + "</th>";
        body_ += "</tr></thead>\n";
    }
    body_ += "<tbody>\n";
    for (const auto& row : t.rows) {
        body_ += "<tr>";
        for (const auto& cell : row) {
            const char* tag = cell.header ? "th" : "td";
            body_ += fmt::format("<{}", tag);
            if (!cell.css_class.empty()) body_ += fmt::format(" class=\"{}\"", escape_markup(cell.css_class));
            for (const auto& [name, value] : cell.attributes)
                body_ += fmt::format(" {}=\"{}\"", escape_markup(name), escape_markup(value));
            body_ += fmt::format(">{}</{}>", escape_markup(cell.text), tag);
        }
        body_ += "</tr>\n";
    }
    body_ += "</tbody></table>\n";
}

void HtmlPage::preformatted(const std::string& text) { body_ += "<pre>" + escape_markup(text) + "</pre>\n"; }

void HtmlPage::png(const std::vector<std::uint8_t>& bytes, const std::string& alt, const std::string& caption,
                   int fill_width) {
    // The width is in the IHDR chunk, right after the 8-byte signature: bytes 16-19, big-endian.
    static const std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::string size;
    if (fill_width > 0 && bytes.size() >= 24 && std::equal(kSignature, kSignature + 8, bytes.begin())) {
        const std::uint32_t w = (std::uint32_t{bytes[16]} << 24) | (std::uint32_t{bytes[17]} << 16) |
                                (std::uint32_t{bytes[18]} << 8) | bytes[19];
        const std::uint32_t factor = w > 0 ? std::min<std::uint32_t>(3, static_cast<std::uint32_t>(fill_width) / w) : 1;
        if (factor > 1) size = fmt::format(" width=\"{}\"", w * factor);
    }
    body_ += fmt::format("<figure><img alt=\"{}\"{} src=\"data:image/png;base64,{}\"><figcaption>{}</figcaption></figure>\n",
                         escape_markup(alt), size, base64_encode(bytes), escape_markup(caption));
}

void HtmlPage::raw(const std::string& markup) { body_ += markup; }

void HtmlPage::begin_grid() { body_ += "<div class=\"grid\">\n"; }
void HtmlPage::end_grid() { body_ += "</div>\n"; }

std::string HtmlPage::str() const {
    DCODR_CHECK(!in_section_, "report: a section was left open");
    return fmt::format("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
                       escape_markup(title_), kStyle, body_);
}

}  // namespace dcodr::report
