// `check` over a directory tree: whatever it cannot read is an input error
// (exit 2, `path: error: reason`, listed under "errors" in JSON), never a file
// silently passed over. Every problem of the tree is reported in one run.
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli/cli_runner.hpp"

namespace {

using namespace cdcguard::cli_testing;

struct ExpectedError {
  std::string file;     // as the report names it (relative to the temp dir)
  std::string message;  // a part of the message
};

struct TreeCase {
  std::string name;
  void (*build)(const TempDir&);  // writes `tree/` (and whatever it points at) into the temp dir
  std::string path;               // the PATH argument
  int exit_code;
  std::vector<ExpectedError> errors;  // exactly these files, in this order
  int connectors;                     // checked: the readable rest of the tree was read
  int files;
};

void make_symlink(const TempDir& tmp, const std::string& target, const std::string& link) {
  fs::create_directories((tmp.path() / link).parent_path());
  fs::create_symlink(target, tmp.path() / link);
}

void lock(const TempDir& tmp, const std::string& relative, fs::perms perms = fs::perms::none) {
  fs::permissions(tmp.path() / relative, perms, fs::perm_options::replace);
}

// tree/clean.yaml: 2 connectors and a KafkaConnect, no violation.
void clean_tree(const TempDir& tmp) {
  tmp.copy_fixture("clean.yaml", "tree/clean.yaml");
}

class CliCheckTree : public testing::TestWithParam<TreeCase> {};

// Permission bits stop the child even when the tests run as root (see RunOptions).
TEST_P(CliCheckTree, ReportsEveryPathItCannotRead) {
  const TreeCase& c = GetParam();
  TempDir tmp;
  c.build(tmp);
  for (const char* output : {"text", "json"}) {
    SCOPED_TRACE(output);
    const RunResult r =
        run_cdcguard({"check", "--registry", fixture_arg("registry.yaml"), "--output", output, c.path},
                     obeying_file_permissions(in_dir(tmp.path())));
    ASSERT_TRUE(ExitedWith(r, c.exit_code));
    if (std::string(output) == "text") {
      for (const auto& e : c.errors) {
        EXPECT_TRUE(contains(r.err, e.file + ": error: ")) << e.file << "\n" << r.err;
      }
      if (c.errors.empty()) {
        EXPECT_EQ(r.err, "");
      }
      continue;
    }
    const auto report = parse_json(r.out);
    ASSERT_TRUE(report) << r.out;
    EXPECT_EQ(report->at("summary").at("connectors"), c.connectors) << r.out;
    EXPECT_EQ(report->at("summary").at("files"), c.files) << r.out;
    if (c.errors.empty()) {
      EXPECT_FALSE(report->contains("errors")) << r.out;
      continue;
    }
    ASSERT_TRUE(report->contains("errors")) << r.out;
    const auto& errors = report->at("errors");
    ASSERT_EQ(errors.size(), c.errors.size()) << r.out;
    for (std::size_t i = 0; i < c.errors.size(); ++i) {
      EXPECT_EQ(errors[i].at("file"), c.errors[i].file) << r.out;
      EXPECT_EQ(errors[i].at("line"), 0) << r.out;
      EXPECT_TRUE(contains(errors[i].at("message").get<std::string>(), c.errors[i].message))
          << "expected \"" << c.errors[i].message << "\" in " << errors[i].dump();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliCheckTree,
    testing::Values(TreeCase{"locked_subdirectory",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               tmp.copy_fixture("duplicate.yaml", "tree/locked/dup.yaml");
                               lock(tmp, "tree/locked");
                             },
                             "tree",
                             2,
                             {{"tree/locked", "cannot list this directory: permission denied"}},
                             2,
                             1},
                    // r-- without x: the names can be listed but nothing under them reached.
                    TreeCase{"unsearchable_subdirectory",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               tmp.copy_fixture("duplicate.yaml", "tree/locked/dup.yaml");
                               lock(tmp, "tree/locked",
                                    fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
                             },
                             "tree",
                             2,
                             {{"tree/locked", "permission denied"}},
                             2,
                             1},
                    TreeCase{"locked_root",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               lock(tmp, "tree");
                             },
                             "tree",
                             2,
                             {{"tree", "cannot list this directory: permission denied"}},
                             0,
                             0},
                    TreeCase{"unreadable_yaml_file",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               tmp.copy_fixture("duplicate.yaml", "tree/secret.yaml");
                               lock(tmp, "tree/secret.yaml");
                             },
                             "tree",
                             2,
                             {{"tree/secret.yaml", "cannot read: permission denied"}},
                             2,
                             2},
                    TreeCase{
                        "dangling_yaml_symlink",
                        [](const TempDir& tmp) {
                          clean_tree(tmp);
                          make_symlink(tmp, "../moved/dup.yaml", "tree/dup.yaml");
                        },
                        "tree",
                        2,
                        {{"tree/dup.yaml", "dangling symlink: its target ../moved/dup.yaml does not exist"}},
                        2,
                        1},
                    TreeCase{"symlink_to_itself",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               make_symlink(tmp, "loop.yaml", "tree/loop.yaml");
                             },
                             "tree",
                             2,
                             {{"tree/loop.yaml", "symlink loop"}},
                             2,
                             1},
                    TreeCase{"two_symlinks_in_a_loop",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               make_symlink(tmp, "b.yml", "tree/a.yml");
                               make_symlink(tmp, "a.yml", "tree/b.yml");
                             },
                             "tree",
                             2,
                             {{"tree/a.yml", "symlink loop"}, {"tree/b.yml", "symlink loop"}},
                             2,
                             1},
                    // Reading a FIFO would wait for a writer that never comes.
                    TreeCase{"fifo_named_yaml",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               ASSERT_EQ(::mkfifo((tmp.path() / "tree/pipe.yaml").c_str(), 0644), 0);
                             },
                             "tree",
                             2,
                             {{"tree/pipe.yaml", "not a regular file (a FIFO)"}},
                             2,
                             1},
                    TreeCase{"only_dangling_symlinks",
                             [](const TempDir& tmp) {
                               fs::create_directories(tmp.path() / "tree");
                               make_symlink(tmp, "gone.yaml", "tree/connectors.yaml");
                             },
                             "tree",
                             2,
                             {{"tree/connectors.yaml", "dangling symlink"}},
                             0,
                             0},
                    TreeCase{"every_problem_at_once",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               tmp.copy_fixture("duplicate.yaml", "tree/b/locked/dup.yaml");
                               lock(tmp, "tree/b/locked");
                               make_symlink(tmp, "nowhere.yaml", "tree/a/gone.yaml");
                               ASSERT_EQ(::mkfifo((tmp.path() / "tree/c.yaml").c_str(), 0644), 0);
                             },
                             "tree",
                             2,
                             {{"tree/a/gone.yaml", "dangling symlink"},
                              {"tree/b/locked", "permission denied"},
                              {"tree/c.yaml", "not a regular file"}},
                             2,
                             1},
                    // Not a manifest name: it would not have been read anyway.
                    TreeCase{"dangling_symlinks_without_a_manifest_extension",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               make_symlink(tmp, "gone.txt", "tree/notes.txt");
                               make_symlink(tmp, "gone-dir", "tree/current");
                               make_symlink(tmp, "README", "tree/README");
                             },
                             "tree",
                             0,
                             {},
                             2,
                             1},
                    TreeCase{"hidden_directories_stay_skipped",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               tmp.copy_fixture("duplicate.yaml", "tree/.git/dup.yaml");
                               lock(tmp, "tree/.git");
                               make_symlink(tmp, "gone.yaml", "tree/.old.yaml");
                             },
                             "tree",
                             0,
                             {},
                             2,
                             1},
                    TreeCase{"symlinked_directory_is_followed",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               tmp.copy_fixture("duplicate.yaml", "shared/dup.yaml");
                               make_symlink(tmp, "../shared", "tree/shared");
                             },
                             "tree",
                             1,
                             {},
                             3,
                             2},
                    TreeCase{"locked_directory_behind_a_symlink",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               tmp.copy_fixture("duplicate.yaml", "shared/dup.yaml");
                               lock(tmp, "shared");
                               make_symlink(tmp, "../shared", "tree/shared");
                             },
                             "tree",
                             2,
                             {{"tree/shared", "cannot list this directory: permission denied"}},
                             2,
                             1},
                    // Each directory is read once, under its own name, however many links reach it.
                    TreeCase{"symlink_cycle_is_read_once",
                             [](const TempDir& tmp) {
                               clean_tree(tmp);
                               fs::create_directories(tmp.path() / "tree/sub");
                               make_symlink(tmp, "..", "tree/sub/up");
                               make_symlink(tmp, "../tree", "tree/self");
                             },
                             "tree",
                             0,
                             {},
                             2,
                             1},
                    TreeCase{"symlink_to_a_directory_of_the_tree_is_read_once",
                             [](const TempDir& tmp) {
                               tmp.copy_fixture("clean.yaml", "tree/apps/clean.yaml");
                               make_symlink(tmp, "apps", "tree/0-alias");
                             },
                             "tree",
                             0,
                             {},
                             2,
                             1}),
    case_name<TreeCase>);

// The file named in the report is the one that was checked: the violation in a
// followed directory link is reported under the link's path.
TEST(CliCheckTree, ViolationBehindADirectoryLinkNamesThePathUnderTheTree) {
  TempDir tmp;
  clean_tree(tmp);
  tmp.copy_fixture("duplicate.yaml", "shared/dup.yaml");
  make_symlink(tmp, "../shared", "tree/shared");
  const RunResult r =
      run_cdcguard({"check", "--registry", fixture_arg("registry.yaml"), "tree"}, in_dir(tmp.path()));
  ASSERT_TRUE(ExitedWith(r, 1));
  EXPECT_TRUE(contains(r.out, "tree/shared/dup.yaml:10: error: [server-id-duplicate]")) << r.out;
}

// A path named on the command line that cannot be read is reported with why.
struct ArgumentCase {
  std::string name;
  void (*build)(const TempDir&);
  std::string path;
  std::string message;
};

class CliCheckArgument : public testing::TestWithParam<ArgumentCase> {};

TEST_P(CliCheckArgument, ExitsTwoSayingWhy) {
  const ArgumentCase& c = GetParam();
  TempDir tmp;
  c.build(tmp);
  const RunResult r = run_cdcguard({"check", c.path}, obeying_file_permissions(in_dir(tmp.path())));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, c.path + ": error: " + c.message)) << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliCheckArgument,
    testing::Values(ArgumentCase{"missing", [](const TempDir&) {}, "nope.yaml", "no such file or directory"},
                    ArgumentCase{"dangling_symlink",
                                 [](const TempDir& tmp) { make_symlink(tmp, "gone.yaml", "x.yaml"); },
                                 "x.yaml", "dangling symlink: its target gone.yaml does not exist"},
                    ArgumentCase{"symlink_loop",
                                 [](const TempDir& tmp) { make_symlink(tmp, "x.yaml", "x.yaml"); }, "x.yaml",
                                 "symlink loop"},
                    ArgumentCase{"unreadable_file",
                                 [](const TempDir& tmp) {
                                   tmp.copy_fixture("clean.yaml", "clean.yaml");
                                   lock(tmp, "clean.yaml");
                                 },
                                 "clean.yaml", "cannot read: permission denied"},
                    ArgumentCase{"through_a_locked_directory",
                                 [](const TempDir& tmp) {
                                   tmp.copy_fixture("clean.yaml", "locked/clean.yaml");
                                   lock(tmp, "locked");
                                 },
                                 "locked/clean.yaml", "permission denied"}),
    case_name<ArgumentCase>);

}  // namespace
