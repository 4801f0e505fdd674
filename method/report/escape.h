// Escaping text for HTML and SVG (both XML-like): the five characters with a meaning in markup.
// Every string that reaches report.html or a chart from a run (names, labels, paths, the
// configuration) goes through here, so a domain called "<b>" stays text.
#pragma once
#include <string>
#include <string_view>

namespace dcodr::report {

// & < > " ' -> &amp; &lt; &gt; &quot; &#39; (safe in element text and in quoted attributes).
std::string escape_markup(std::string_view text);

}  // namespace dcodr::report
