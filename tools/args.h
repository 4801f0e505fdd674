// A small command-line parser: each command declares its options (with defaults and help),
// then reads them typed. Unknown flags and bad values are errors that name the flag.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace dcodr::tools {

class Args {
public:
    Args(std::string command, std::string summary, int argc, char** argv);

    // Declare before reading. A flag is a boolean option given without a value.
    void option(const std::string& name, const std::string& default_value, const std::string& help);
    void flag(const std::string& name, const std::string& help);
    // Changes a declared option's default (a command that tunes a shared option group).
    void set_default(const std::string& name, const std::string& value);
    // Checks the command line against the declarations; true when --help was asked for
    // (the help text has then been printed).
    bool parse();

    std::string str(const std::string& name) const;
    std::int64_t integer(const std::string& name) const;
    double number(const std::string& name) const;
    bool enabled(const std::string& name) const;
    bool given(const std::string& name) const;
    bool declared(const std::string& name) const { return options_.count(name) > 0; }
    std::string help() const;

private:
    struct Option {
        std::string default_value, help;
        bool is_flag;
    };
    std::string command_, summary_;
    std::vector<std::string> raw_;
    std::vector<std::string> order_;
    std::map<std::string, Option> options_;
    std::map<std::string, std::string> values_;
};

}  // namespace dcodr::tools
