// A self-contained HTML page, built up in order: sections with headings, paragraphs, tables,
// inline SVG and PNG pictures as base64 data: URIs, preformatted text. One file, inline CSS,
// no script, no network: it opens the same in any browser, offline, or attached to a mail.
// Text is escaped here; only raw() takes markup (the charts this project renders itself).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dcodr::report {

struct TableCell {
    std::string text;
    std::vector<std::pair<std::string, std::string>> attributes;  // e.g. {"data-value", "0.3072916"}
    std::string css_class;
    bool header = false;  // <th> (a row label) instead of <td>
};

struct Table {
    std::vector<std::string> head;
    std::vector<std::vector<TableCell>> rows;
    std::string css_class;
};

class HtmlPage {
public:
    explicit HtmlPage(std::string title);

    // <section id=...><h2>title</h2> ... </section>; sections do not nest.
    void begin_section(const std::string& id, const std::string& title);
    void end_section();
    void heading(const std::string& text);  // <h3>
    void paragraph(const std::string& text, const std::string& css_class = "");
    void table(const Table& t);
    void preformatted(const std::string& text);
    // A PNG (its bytes) as <img src="data:image/png;base64,...">, with a caption under it. A
    // picture narrower than `fill_width` pixels is shown enlarged by a whole factor (at most 3,
    // pixels kept sharp) to fill it: 64 px tiles are small on a screen.
    void png(const std::vector<std::uint8_t>& bytes, const std::string& alt, const std::string& caption,
             int fill_width = 0);
    // Markup written as is: only for markup this program generated (the SVG charts).
    void raw(const std::string& markup);
    void begin_grid();  // the charts between begin_grid and end_grid flow in columns
    void end_grid();

    std::string str() const;  // the whole document

private:
    std::string title_;
    std::string body_;
    bool in_section_ = false;
};

}  // namespace dcodr::report
