// Minimal RFC 4180 CSV reading: comma-separated, optional double quotes ("" inside quotes is a
// quote), CRLF or LF line ends; unquoted fields are trimmed of spaces; blank lines are skipped.
#pragma once
#include <string>
#include <vector>

namespace dcodr::data {

struct CsvRow {
    int line = 0;  // 1-based line number in the file, for messages
    std::vector<std::string> fields;
};

std::vector<CsvRow> parse_csv(const std::string& text, const std::string& path);
// Quotes a field when it holds a comma, quote or newline.
std::string csv_escape(const std::string& field);

}  // namespace dcodr::data
