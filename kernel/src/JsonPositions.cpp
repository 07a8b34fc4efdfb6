#include "JsonPositions.hpp"

namespace keel::kernel {

namespace {

/// Stops the scan at a syntax error; only ever caught inside scan().
struct SyntaxError {
    std::string what;
};

// Deeper documents are left partly indexed rather than risking the stack.
constexpr int kMaxDepth = 256;

void appendUtf8(std::string& out, unsigned long cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

} // namespace

class JsonPositions::Scanner {
public:
    Scanner(std::string_view text, JsonPositions& out) : text_(text), out_(out) {}

    void document() {
        skipSpace();
        if (pos_ >= text_.size()) fail("unexpected end of text");
        out_.lines_[""] = line_;
        value("", 0);
        skipSpace();
        if (pos_ < text_.size()) fail("unexpected text after the end of the JSON value");
    }

    int line() const { return line_; }

private:
    void fail(std::string what) { throw SyntaxError{std::move(what)}; }

    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

    void advance() {
        if (text_[pos_] == '\n') ++line_;
        ++pos_;
    }

    void skipSpace() {
        while (pos_ < text_.size() && std::string_view(" \t\r\n").find(text_[pos_]) != std::string_view::npos) advance();
    }

    void expect(char c, const char* what) {
        skipSpace();
        if (peek() != c) fail(pos_ >= text_.size() ? "unexpected end of text" : std::string("expected ") + what);
        advance();
    }

    void value(const std::string& path, int depth) {
        if (depth > kMaxDepth) fail("nested too deeply");
        skipSpace();
        const char c = peek();
        if (c == '{') {
            object(path, depth);
        } else if (c == '[') {
            array(path, depth);
        } else if (c == '"') {
            string();
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            number();
        } else if (!literal("true") && !literal("false") && !literal("null")) {
            fail(pos_ >= text_.size() ? "unexpected end of text" : "expected a value");
        }
    }

    void object(const std::string& path, int depth) {
        advance(); // '{'
        std::map<std::string, int> seen;
        skipSpace();
        if (peek() == '}') {
            advance();
            return;
        }
        for (;;) {
            skipSpace();
            if (peek() != '"') fail(pos_ >= text_.size() ? "unexpected end of text" : "expected a key in double quotes");
            const int keyLine = line_;
            const std::string child = member(path, string());
            if (auto [it, fresh] = seen.emplace(child, keyLine); !fresh) {
                out_.duplicates_.push_back({child, keyLine, it->second});
                it->second = keyLine;
            }
            out_.lines_[child] = keyLine; // JSON keeps the last value, so does the index
            expect(':', "':' after the key");
            value(child, depth + 1);
            skipSpace();
            if (peek() == ',') {
                advance();
                continue;
            }
            expect('}', "',' or '}'");
            return;
        }
    }

    void array(const std::string& path, int depth) {
        advance(); // '['
        skipSpace();
        if (peek() == ']') {
            advance();
            return;
        }
        for (std::size_t i = 0;; ++i) {
            skipSpace();
            const std::string child = element(path, i);
            out_.lines_[child] = line_;
            value(child, depth + 1);
            skipSpace();
            if (peek() == ',') {
                advance();
                continue;
            }
            expect(']', "',' or ']'");
            return;
        }
    }

    /// Decodes the string at pos_, as Poco does, so keys with escapes index under Poco's key.
    std::string string() {
        advance(); // '"'
        std::string out;
        for (;;) {
            if (pos_ >= text_.size()) fail("unterminated string");
            const char c = text_[pos_];
            if (c == '"') {
                advance();
                return out;
            }
            if (c == '\n') fail("line break inside a string");
            advance();
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_.size()) fail("unterminated string");
            const char e = text_[pos_];
            advance();
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': appendUtf8(out, codePoint()); break;
            default: fail("invalid escape in a string");
            }
        }
    }

    unsigned long hex4() {
        unsigned long v = 0;
        for (int i = 0; i < 4; ++i) {
            const char h = peek();
            int d = -1;
            if (h >= '0' && h <= '9') d = h - '0';
            else if (h >= 'a' && h <= 'f') d = h - 'a' + 10;
            else if (h >= 'A' && h <= 'F') d = h - 'A' + 10;
            if (d < 0) fail("invalid \\u escape in a string");
            advance();
            v = v * 16 + static_cast<unsigned long>(d);
        }
        return v;
    }

    unsigned long codePoint() {
        const unsigned long high = hex4();
        if (high < 0xD800 || high > 0xDBFF) return high;
        if (text_.substr(pos_, 2) != "\\u") return high;
        advance();
        advance();
        const unsigned long low = hex4();
        if (low < 0xDC00 || low > 0xDFFF) return low;
        return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
    }

    /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, as strict as Poco, so errors agree.
    void number() {
        if (peek() == '-') advance();
        if (peek() == '0') advance();
        else if (!digits()) fail("invalid number");
        if (peek() == '.') {
            advance();
            if (!digits()) fail("invalid number");
        }
        if (peek() == 'e' || peek() == 'E') {
            advance();
            if (peek() == '+' || peek() == '-') advance();
            if (!digits()) fail("invalid number");
        }
    }

    bool digits() {
        const std::size_t start = pos_;
        while (peek() >= '0' && peek() <= '9') advance();
        return pos_ > start;
    }

    bool literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        for (std::size_t i = 0; i < word.size(); ++i) advance();
        return true;
    }

    std::string_view text_;
    JsonPositions& out_;
    std::size_t pos_ = 0;
    int line_ = 1;
};

JsonPositions JsonPositions::scan(std::string_view text) {
    JsonPositions out;
    Scanner scanner(text, out);
    try {
        scanner.document();
    } catch (const SyntaxError& e) {
        out.errorLine_ = scanner.line();
        out.error_ = e.what;
    }
    return out;
}

int JsonPositions::exactLine(std::string_view path) const {
    auto it = lines_.find(path);
    return it == lines_.end() ? 0 : it->second;
}

int JsonPositions::line(std::string_view path) const {
    for (;;) {
        if (int l = exactLine(path); l != 0) return l;
        if (path.empty()) return 0;
        // Drop the last ".key" or "[i]".
        const std::size_t cut = path.find_last_of(".[");
        path = cut == std::string_view::npos ? std::string_view() : path.substr(0, cut);
    }
}

std::string JsonPositions::member(std::string_view path, std::string_view key) {
    std::string out(path);
    if (!out.empty()) out += '.';
    out += key;
    return out;
}

std::string JsonPositions::element(std::string_view path, std::size_t index) {
    return std::string(path) + "[" + std::to_string(index) + "]";
}

} // namespace keel::kernel
