#include "Mime.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

namespace keel_fs {

namespace {

// What browsers must get right even without /etc/mime.types.
constexpr std::pair<std::string_view, std::string_view> kBuiltIn[] = {
    {"html", "text/html"},
    {"htm", "text/html"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"mjs", "text/javascript"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain"},
    {"md", "text/markdown"},
    {"csv", "text/csv"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"bmp", "image/bmp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"br", "application/octet-stream"},
    {"tar", "application/x-tar"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"webmanifest", "application/manifest+json"},
    {"bin", "application/octet-stream"},
};

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

} // namespace

bool MimeTypes::isText(std::string_view type) {
    return type.starts_with("text/") || type == "application/javascript" ||
           type == "application/json" || type == "application/xml" ||
           type == "application/manifest+json" || type == "application/ld+json" ||
           type == "image/svg+xml" || type.ends_with("+xml") || type.ends_with("+json");
}

MimeTypes::MimeTypes() {
    for (const auto& [ext, type] : kBuiltIn)
        add(ext, type);
}

MimeTypes MimeTypes::load(const std::string& path, std::string* warning) {
    MimeTypes m;
    std::ifstream in(path);
    if (!in) {
        if (warning != nullptr)
            *warning = "cannot read " + path + " (install the media-types package): using the " +
                       "built-in table of " + std::to_string(m.size()) + " types";
        return m;
    }
    std::stringstream text;
    text << in.rdbuf();
    m.parse(text.str());
    return m;
}

void MimeTypes::parse(std::string_view text) {
    while (!text.empty()) {
        const auto eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        if (const auto hash = line.find('#'); hash != std::string_view::npos)
            line = line.substr(0, hash);
        std::string_view type;
        while (!line.empty()) {
            const auto start = line.find_first_not_of(" \t\r");
            if (start == std::string_view::npos) break;
            line = line.substr(start);
            const auto stop = line.find_first_of(" \t\r");
            const std::string_view word = line.substr(0, stop);
            line = stop == std::string_view::npos ? std::string_view() : line.substr(stop);
            if (type.empty()) {
                if (word.find('/') == std::string_view::npos) break; // not a type line
                type = word;
            } else {
                add(word, type);
            }
        }
    }
    // JavaScript is text/javascript (RFC 9239) whatever older tables say.
    add("js", "text/javascript");
    add("mjs", "text/javascript");
}

void MimeTypes::add(std::string_view ext, std::string_view type) {
    std::string value = lower(type);
    if (isText(value)) value += "; charset=utf-8";
    byExt_[lower(ext)] = std::move(value);
}

const std::string& MimeTypes::forName(std::string_view fileName) const {
    const auto dot = fileName.rfind('.');
    const auto slash = fileName.rfind('/');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash) ||
        dot + 1 == fileName.size())
        return fallback_;
    std::string ext(fileName.substr(dot + 1));
    for (char& c : ext)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto it = byExt_.find(ext);
    return it == byExt_.end() ? fallback_ : it->second;
}

} // namespace keel_fs
