#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace cdcguard::cli {

struct InputFile {
  std::string name;  // as shown in messages; "<stdin>" for "-"
  std::string text;
};

struct InputProblem {
  std::string path;
  std::string message;
};

// Largest manifest or registry file read (a GitOps repo has no honest reason for more).
inline constexpr std::size_t kMaxInputBytes = 64u << 20;

// Expands PATH arguments: a file as given, a directory recursively (*.yaml,
// *.yml, *.json, hidden entries skipped, symlinked directories followed once,
// sorted), "-" kept for standard input. What cannot be read (a directory that
// cannot be listed, a dangling or looping *.yaml symlink, a *.yaml that is a
// FIFO or a device) goes to `problems`, and the walk goes on.
std::vector<std::string> expand_inputs(const std::vector<std::string>& paths,
                                       std::vector<InputProblem>& problems);

// Reads one expanded input ("-" reads `stdin_stream`, named "<stdin>").
std::optional<InputFile> read_input(const std::string& path, std::istream& stdin_stream, std::string& error);

// One file, whole (a FIFO or device to its end); nullopt with `error` set when
// it cannot be read or is over kMaxInputBytes.
std::optional<std::string> read_file(const std::string& path, std::string& error);

}  // namespace cdcguard::cli
