// A small JSON value with a parser and a (pretty) printer.
//
// Used for safetensors headers, training logs and eval output. Objects keep insertion order
// (a log or header reads back in the order it was written) and reject duplicate keys when
// parsed, since which of two values "wins" is ambiguous. Integers without a fraction or
// exponent that fit in int64 stay exact (tensor offsets, step counts); every other number
// is a double. Like Python's json module, the printer writes non-finite doubles as NaN,
// Infinity and -Infinity and the parser accepts them, so a diverged loss still logs.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace dcodr::json {

enum class Type : std::uint8_t { null, boolean, integer, number, string, array, object };
const char* type_name(Type t);

class Value {
public:
    using Array = std::vector<Value>;
    using Object = std::vector<std::pair<std::string, Value>>;  // insertion order

    Value() = default;  // null
    Value(std::nullptr_t) {}
    Value(bool b) : v_(b) {}
    // Integers are stored as int64; an unsigned value beyond int64 becomes a double rather
    // than wrapping to a negative number.
    template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    Value(T i) {
        if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
            if (i > static_cast<T>(std::numeric_limits<std::int64_t>::max())) {
                v_ = static_cast<double>(i);
                return;
            }
        }
        v_ = static_cast<std::int64_t>(i);
    }
    template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
    Value(T d) : v_(static_cast<double>(d)) {}
    Value(const char* s) : v_(std::string(s)) {}
    Value(std::string s) : v_(std::move(s)) {}
    Value(std::string_view s) : v_(std::string(s)) {}
    Value(Array a) : v_(std::move(a)) {}
    Value(Object o) : v_(std::move(o)) {}
    static Value array() { return Value(Array{}); }
    static Value object() { return Value(Object{}); }

    Type type() const { return static_cast<Type>(v_.index()); }
    bool is_null() const { return type() == Type::null; }
    bool is_bool() const { return type() == Type::boolean; }
    bool is_int() const { return type() == Type::integer; }
    bool is_number() const { return type() == Type::integer || type() == Type::number; }
    bool is_string() const { return type() == Type::string; }
    bool is_array() const { return type() == Type::array; }
    bool is_object() const { return type() == Type::object; }

    // Typed access; each throws dcodr::Error naming the expected and the actual type.
    bool as_bool() const;
    std::int64_t as_int() const;  // an integer, or a double with an exact int64 value
    double as_double() const;     // any number
    const std::string& as_string() const;
    const Array& as_array() const;
    Array& as_array();
    const Object& as_object() const;
    Object& as_object();

    // Object access. find() returns nullptr when absent; at() throws naming the key.
    const Value* find(std::string_view key) const;
    Value* find(std::string_view key);
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    const Value& at(std::string_view key) const;
    // Inserts null when absent; a null value becomes an empty object first.
    Value& operator[](std::string_view key);

    // Array access. push_back turns a null value into an empty array first.
    const Value& at(std::size_t i) const;
    void push_back(Value v);

    std::size_t size() const;  // elements of an array or members of an object, else 0

    // indent < 0: compact one line (no spaces); indent >= 0: one member per line.
    std::string dump(int indent = -1) const;

    // Structural equality; an integer equals a double of the same value.
    bool operator==(const Value& o) const;
    bool operator!=(const Value& o) const { return !(*this == o); }

private:
    std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Array, Object> v_;
};

// Parses one JSON document (surrounding whitespace allowed). Throws dcodr::Error with the
// line and column of the problem. Nesting deeper than 512 levels is rejected rather than
// risking the stack on hostile input.
Value parse(std::string_view text);

// Appends `s` as a quoted JSON string (escaping quotes, backslashes and control characters).
void write_string(std::string& out, std::string_view s);

}  // namespace dcodr::json
