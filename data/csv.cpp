#include "data/csv.h"

#include "tensor/error.h"

namespace dcodr::data {

static std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<CsvRow> parse_csv(const std::string& text, const std::string& path) {
    std::vector<CsvRow> rows;
    CsvRow row;
    std::string field;
    bool quoted = false, was_quoted = false, row_has_content = false;
    int line = 1;
    row.line = 1;
    auto end_field = [&] {
        row.fields.push_back(was_quoted ? field : trim(field));
        field.clear();
        was_quoted = false;
    };
    auto end_row = [&] {
        end_field();
        if (row_has_content) rows.push_back(std::move(row));
        row = CsvRow{};
        row_has_content = false;
    };
    // A UTF-8 byte-order mark (spreadsheet exports write one) is not part of the first header
    // field; kept, it turns "path" into "\xEF\xBB\xBFpath" and the header no longer matches.
    const std::size_t start = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    for (std::size_t i = start; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                if (c == '\n') ++line;
                field += c;
            }
            continue;
        }
        if (c == '"') {
            DCODR_CHECK(trim(field).empty(), "'{}' line {}: a quote inside an unquoted field", path, line);
            field.clear();
            quoted = was_quoted = row_has_content = true;
        } else if (c == ',') {
            end_field();
            row_has_content = true;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            end_row();
            row.line = ++line;
        } else {
            field += c;
            if (c != ' ' && c != '\t') row_has_content = true;
        }
    }
    DCODR_CHECK(!quoted, "'{}' line {}: unterminated quoted field", path, row.line);
    end_row();
    return rows;
}

std::string csv_escape(const std::string& f) {
    if (f.find_first_of(",\"\n\r") == std::string::npos && trim(f) == f) return f;
    std::string out = "\"";
    for (char c : f) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace dcodr::data
