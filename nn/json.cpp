#include "nn/json.h"

#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <unordered_set>

#include "tensor/error.h"
#include "tensor/utf8.h"

namespace dcodr::json {

const char* type_name(Type t) {
    switch (t) {
        case Type::null: return "null";
        case Type::boolean: return "boolean";
        case Type::integer: return "integer";
        case Type::number: return "number";
        case Type::string: return "string";
        case Type::array: return "array";
        case Type::object: return "object";
    }
    return "?";
}

// ---------------------------------------------------------------- access

namespace {
[[noreturn]] void wrong_type(const char* wanted, Type got) {
    fail("json: expected {}, got {}", wanted, type_name(got));
}
}  // namespace

bool Value::as_bool() const {
    if (!is_bool()) wrong_type("boolean", type());
    return std::get<bool>(v_);
}
std::int64_t Value::as_int() const {
    if (is_int()) return std::get<std::int64_t>(v_);
    if (type() == Type::number) {
        double d = std::get<double>(v_);
        // 2^63 itself is not representable, hence the strict upper bound.
        if (std::trunc(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
            return static_cast<std::int64_t>(d);
        fail("json: expected an integer, got the number {}", d);
    }
    wrong_type("integer", type());
}
double Value::as_double() const {
    if (is_int()) return static_cast<double>(std::get<std::int64_t>(v_));
    if (type() == Type::number) return std::get<double>(v_);
    wrong_type("number", type());
}
const std::string& Value::as_string() const {
    if (!is_string()) wrong_type("string", type());
    return std::get<std::string>(v_);
}
const Value::Array& Value::as_array() const {
    if (!is_array()) wrong_type("array", type());
    return std::get<Array>(v_);
}
Value::Array& Value::as_array() {
    if (!is_array()) wrong_type("array", type());
    return std::get<Array>(v_);
}
const Value::Object& Value::as_object() const {
    if (!is_object()) wrong_type("object", type());
    return std::get<Object>(v_);
}
Value::Object& Value::as_object() {
    if (!is_object()) wrong_type("object", type());
    return std::get<Object>(v_);
}

const Value* Value::find(std::string_view key) const {
    for (const auto& [k, v] : as_object())
        if (k == key) return &v;
    return nullptr;
}
Value* Value::find(std::string_view key) {
    for (auto& [k, v] : as_object())
        if (k == key) return &v;
    return nullptr;
}
const Value& Value::at(std::string_view key) const {
    const Value* v = find(key);
    if (!v) fail("json: object has no member \"{}\"", key);
    return *v;
}
Value& Value::operator[](std::string_view key) {
    if (is_null()) v_ = Object{};
    if (Value* v = find(key)) return *v;
    auto& o = as_object();
    o.emplace_back(std::string(key), Value());
    return o.back().second;
}
const Value& Value::at(std::size_t i) const {
    const auto& a = as_array();
    if (i >= a.size()) fail("json: index {} out of range for an array of {} elements", i, a.size());
    return a[i];
}
void Value::push_back(Value v) {
    if (is_null()) v_ = Array{};
    as_array().push_back(std::move(v));
}
std::size_t Value::size() const {
    if (is_array()) return std::get<Array>(v_).size();
    if (is_object()) return std::get<Object>(v_).size();
    return 0;
}

bool Value::operator==(const Value& o) const {
    if (is_number() && o.is_number()) {
        if (is_int() && o.is_int()) return as_int() == o.as_int();
        return as_double() == o.as_double();
    }
    if (type() != o.type()) return false;
    if (is_object()) {
        // Member order is presentation, not meaning.
        const auto& a = as_object();
        if (a.size() != o.size()) return false;
        for (const auto& [k, v] : a) {
            const Value* w = o.find(k);
            if (!w || *w != v) return false;
        }
        return true;
    }
    return v_ == o.v_;
}

// ---------------------------------------------------------------- printing

void write_string(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
                else
                    out += c;  // UTF-8 passes through unchanged, as serde_json writes it
        }
    }
    out += '"';
}

namespace {

void write_double(std::string& out, double d) {
    if (std::isnan(d)) {
        out += "NaN";
    } else if (std::isinf(d)) {
        out += d > 0 ? "Infinity" : "-Infinity";
    } else {
        // Shortest text that reads back to the same double; keep a '.' or exponent so the
        // value reads back as a double, not an integer.
        std::string s = fmt::format("{}", d);
        if (s.find_first_of(".e") == std::string::npos) s += ".0";
        out += s;
    }
}

void newline(std::string& out, int indent, int depth) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent) * static_cast<std::size_t>(depth), ' ');
}

void write_value(std::string& out, const Value& v, int indent, int depth) {
    switch (v.type()) {
        case Type::null: out += "null"; return;
        case Type::boolean: out += v.as_bool() ? "true" : "false"; return;
        case Type::integer: out += fmt::format("{}", v.as_int()); return;
        case Type::number: write_double(out, v.as_double()); return;
        case Type::string: write_string(out, v.as_string()); return;
        case Type::array: {
            const auto& a = v.as_array();
            out += '[';
            for (std::size_t i = 0; i < a.size(); ++i) {
                if (i) out += ',';
                if (indent >= 0) newline(out, indent, depth + 1);
                write_value(out, a[i], indent, depth + 1);
            }
            if (indent >= 0 && !a.empty()) newline(out, indent, depth);
            out += ']';
            return;
        }
        case Type::object: {
            const auto& o = v.as_object();
            out += '{';
            for (std::size_t i = 0; i < o.size(); ++i) {
                if (i) out += ',';
                if (indent >= 0) newline(out, indent, depth + 1);
                write_string(out, o[i].first);
                out += indent >= 0 ? ": " : ":";
                write_value(out, o[i].second, indent, depth + 1);
            }
            if (indent >= 0 && !o.empty()) newline(out, indent, depth);
            out += '}';
            return;
        }
    }
}

}  // namespace

std::string Value::dump(int indent) const {
    std::string out;
    write_value(out, *this, indent, 0);
    return out;
}

// ---------------------------------------------------------------- parsing

namespace {

constexpr int kMaxDepth = 512;

class Parser {
public:
    explicit Parser(std::string_view s) : s_(s) {}

    Value document() {
        skip_ws();
        Value v = value(0);
        skip_ws();
        if (pos_ != s_.size()) error("unexpected text after the JSON value");
        return v;
    }

private:
    [[noreturn]] void error(std::string_view what) const {
        std::size_t line = 1, col = 1;
        for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
            if (s_[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        std::string near;
        if (pos_ < s_.size()) {
            near = fmt::format(" near '{}'", s_.substr(pos_, 20));
            for (char& c : near)
                if (static_cast<unsigned char>(c) < 0x20) c = ' ';
        } else {
            near = " at end of input";
        }
        fail("json: {} (line {}, column {}{})", what, line, col, near);
    }

    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }

    void skip_ws() {
        while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }

    bool consume(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    void expect(char c, const char* context) {
        skip_ws();
        if (peek() != c) error(fmt::format("expected '{}' {}", c, context));
        ++pos_;
    }

    Value value(int depth) {
        if (depth > kMaxDepth) error(fmt::format("nesting deeper than {} levels", kMaxDepth));
        skip_ws();
        if (at_end()) error("expected a value");
        char c = peek();
        switch (c) {
            case '{': return object(depth);
            case '[': return array(depth);
            case '"': return Value(string());
            case 't':
                if (consume("true")) return Value(true);
                break;
            case 'f':
                if (consume("false")) return Value(false);
                break;
            case 'n':
                if (consume("null")) return Value();
                break;
            case 'N':
                if (consume("NaN")) return Value(std::nan(""));
                break;
            case 'I':
                if (consume("Infinity")) return Value(HUGE_VAL);
                break;
            default:
                if (c == '-' || (c >= '0' && c <= '9')) return number();
        }
        error("expected a value");
    }

    Value object(int depth) {
        ++pos_;  // '{'
        Value::Object members;
        std::unordered_set<std::string> seen;
        skip_ws();
        if (peek() == '}') {
            ++pos_;
            return Value(std::move(members));
        }
        while (true) {
            skip_ws();
            if (peek() != '"') error("expected a string key in object");
            std::size_t key_pos = pos_;
            std::string key = string();
            if (!seen.insert(key).second) {
                pos_ = key_pos;
                error(fmt::format("duplicate key \"{}\"", key));
            }
            expect(':', "after object key");
            Value v = value(depth + 1);
            members.emplace_back(std::move(key), std::move(v));
            skip_ws();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == '}') {
                ++pos_;
                return Value(std::move(members));
            }
            error("expected ',' or '}' in object");
        }
    }

    Value array(int depth) {
        ++pos_;  // '['
        Value::Array items;
        skip_ws();
        if (peek() == ']') {
            ++pos_;
            return Value(std::move(items));
        }
        while (true) {
            items.push_back(value(depth + 1));
            skip_ws();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == ']') {
                ++pos_;
                return Value(std::move(items));
            }
            error("expected ',' or ']' in array");
        }
    }

    unsigned hex4() {
        if (pos_ + 4 > s_.size()) error("truncated \\u escape");
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= unsigned(c - '0');
            else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
            else {
                --pos_;
                error("bad hex digit in \\u escape");
            }
        }
        return v;
    }

    std::string string() {
        ++pos_;  // opening quote
        std::string out;
        while (true) {
            if (at_end()) error("unterminated string");
            char c = s_[pos_];
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) error("control character in string (must be escaped)");
            if (c != '\\') {
                out += c;
                ++pos_;
                continue;
            }
            ++pos_;
            if (at_end()) error("unterminated escape");
            char e = s_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    unsigned cp = hex4();
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        // A high surrogate must be followed by \u and a low surrogate.
                        if (!consume("\\u")) error("high surrogate without a following \\u low surrogate");
                        unsigned lo = hex4();
                        if (lo < 0xDC00 || lo > 0xDFFF) error("high surrogate followed by a non-low surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        error("lone low surrogate in \\u escape");
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    --pos_;
                    error(fmt::format("invalid escape '\\{}'", e));
            }
        }
    }

    Value number() {
        std::size_t start = pos_;
        if (peek() == '-') {
            ++pos_;
            if (consume("Infinity")) return Value(-HUGE_VAL);
        }
        auto digits = [&] {
            std::size_t n = 0;
            while (!at_end() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_, ++n;
            return n;
        };
        if (peek() == '0') {
            ++pos_;
            if (peek() >= '0' && peek() <= '9') error("leading zeros are not allowed in numbers");
        } else if (digits() == 0) {
            error("expected digits in number");
        }
        bool integral = true;
        if (peek() == '.') {
            ++pos_;
            integral = false;
            if (digits() == 0) error("expected digits after the decimal point");
        }
        if (peek() == 'e' || peek() == 'E') {
            ++pos_;
            integral = false;
            if (peek() == '+' || peek() == '-') ++pos_;
            if (digits() == 0) error("expected digits in the exponent");
        }
        const char* first = s_.data() + start;
        const char* last = s_.data() + pos_;
        if (integral) {
            std::int64_t i = 0;
            auto r = std::from_chars(first, last, i);
            if (r.ec == std::errc() && r.ptr == last) return Value(i);
            // Beyond int64: keep the magnitude as a double rather than failing.
        }
        double d = 0;
        auto r = std::from_chars(first, last, d);
        if (r.ec == std::errc::result_out_of_range) {
            // from_chars leaves d unset on overflow/underflow; pick the limit by the text.
            bool tiny = false;
            for (const char* p = first; p != last; ++p)
                if (*p == 'e' || *p == 'E') tiny = p[1] == '-';
            d = tiny ? 0.0 : (*first == '-' ? -HUGE_VAL : HUGE_VAL);
        } else if (r.ec != std::errc() || r.ptr != last) {
            pos_ = start;
            error("malformed number");
        }
        return Value(d);
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

}  // namespace

Value parse(std::string_view text) { return Parser(text).document(); }

}  // namespace dcodr::json
