#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cdcguard/kube/monotonic_clock.hpp"

// Runs a program to its end with a bounded output and a deadline: what a
// credential plugin needs (kube/exec_credential.cpp). Private to kube/.
namespace cdcguard::kube {

struct ChildProgram {
  std::string command;  // a path, or a bare name looked up on PATH
  std::vector<std::string> args;
  std::vector<std::string> environment;  // the child's whole environment, "NAME=value"
};

struct ChildLimits {
  MonotonicClock::duration timeout;  // then the child's process group is killed
  std::size_t max_stdout = 0;        // more is not read: the child is killed
  std::size_t stderr_tail = 0;       // the last this many bytes of stderr are kept
  MonotonicClock* clock = nullptr;   // measures the timeout
};

struct ChildOutcome {
  enum class Ending {
    Exited,          // exit_code
    Killed,          // by signal `signal`, not ours
    NotStarted,      // spawn_error (an errno: ENOENT when the command is not found)
    TimedOut,        // we killed it at the deadline
    OutputTooLarge,  // we killed it past max_stdout
  };
  Ending ending = Ending::NotStarted;
  int exit_code = 0;
  int signal = 0;
  int spawn_error = 0;
  std::string out;
  std::string err;  // its tail
};

// Runs `program` in a process group of its own with stdin from /dev/null and
// no other descriptor of ours, collecting stdout and stderr until it has
// exited and closed both, or a limit is reached (then the group gets SIGKILL).
// Never throws for what the child does; std::system_error when no pipe can be
// made.
ChildOutcome run_child(const ChildProgram& program, const ChildLimits& limits);

}  // namespace cdcguard::kube
