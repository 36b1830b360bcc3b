#include "cli/file_inputs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace cdcguard::cli {
namespace fs = std::filesystem;

namespace {

bool manifest_extension(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

bool hidden(const fs::path& p) {
  const auto name = p.filename().string();
  return name.size() > 1 && name[0] == '.' && name != "..";
}

}  // namespace

namespace {

// Pipes, /dev/stdin and <(process substitution) have no size: read to the limit.
std::optional<std::string> read_stream(std::istream& in, std::string& error) {
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxInputBytes) {
      error = "input is over the limit of " + std::to_string(kMaxInputBytes) + " bytes";
      return std::nullopt;
    }
  }
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return text;
}

}  // namespace

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    error = ec ? ec.message() : "no such file or directory";
    return std::nullopt;
  }
  if (fs::is_directory(status)) {
    error = "is a directory";
    return std::nullopt;
  }
  if (!fs::is_regular_file(status)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error = std::strerror(errno);
      return std::nullopt;
    }
    return read_stream(in, error);
  }
  const auto size = fs::file_size(path, ec);
  if (ec) {
    error = ec.message();
    return std::nullopt;
  }
  if (size > kMaxInputBytes) {
    error = "file is " + std::to_string(size) + " bytes, over the limit of " + std::to_string(kMaxInputBytes);
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  text.resize(static_cast<std::size_t>(size));
  in.read(text.data(), static_cast<std::streamsize>(size));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return text;
}

std::optional<InputFile> read_input(const std::string& path, std::istream& stdin_stream, std::string& error) {
  if (path != "-") {
    auto text = read_file(path, error);
    if (!text) return std::nullopt;
    return InputFile{path, std::move(*text)};
  }
  auto text = read_stream(stdin_stream, error);
  if (!text) return std::nullopt;
  return InputFile{"<stdin>", std::move(*text)};
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& paths,
                                       std::vector<InputProblem>& problems) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    if (path == "-") {
      files.push_back(path);
      continue;
    }
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      problems.push_back({path, "no such file or directory"});
      continue;
    }
    if (!fs::is_directory(status)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      problems.push_back({path, ec.message()});
      continue;
    }
    for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
      if (ec) {
        problems.push_back({path, ec.message()});
        break;
      }
      if (hidden(it->path())) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && manifest_extension(it->path())) found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

}  // namespace cdcguard::cli
