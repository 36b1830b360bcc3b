"""Runs .pre-commit-hooks.yaml through pre-commit itself, as a user's repository does.

  pre_commit_hook.py SOURCE_DIR BIN_DIR FIXTURE_DIR

SOURCE_DIR is the cdc-guard repository (its .pre-commit-hooks.yaml, used as
try-repo uses it: uncommitted changes included), BIN_DIR holds the built
cdc-guard (the hook is language: system, so it is found on PATH), FIXTURE_DIR
is tests/fixtures/consumers/pre-commit (eight connector files, the first and
the last sharing a server id, and a README that is not YAML). Checks that
pre-commit accepts the manifest, that the hook fails on the duplicate without
being handed the README, and that it passes once the duplicate is gone.
Without require_serial, pre-commit splits eight files over two or more CPUs
into separate runs, and the first and the last file never meet.
"""

import os
import shutil
import subprocess
import sys
import tempfile


def main():
    source, bin_dir, fixtures = sys.argv[1:4]
    failures = []
    with tempfile.TemporaryDirectory(prefix="cdcguard-pre-commit-") as tmp:
        env = dict(os.environ)
        env.update(
            PATH=bin_dir + os.pathsep + env.get("PATH", ""),
            PRE_COMMIT_HOME=os.path.join(tmp, "home"),
            GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
            GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
            GIT_CONFIG_NOSYSTEM="1", HOME=tmp,
        )
        pre_commit = [sys.executable, "-m", "pre_commit"]

        def run(argv, cwd):
            done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, check=False)
            return done.returncode, done.stdout

        code, out = run(pre_commit + ["validate-manifest", os.path.join(source, ".pre-commit-hooks.yaml")], source)
        if code != 0:
            failures.append(f"validate-manifest exit {code}:\n{out}")

        repo = os.path.join(tmp, "repo")
        shutil.copytree(fixtures, repo)
        # A user's repository, committed: try-repo --all-files reads what git tracks.
        for argv in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "connectors"]):
            code, out = run(argv, repo)
            if code != 0:
                failures.append(f"{' '.join(argv)}: {out}")
        try_repo = pre_commit + ["try-repo", source, "cdc-guard-check", "--all-files"]

        code, out = run(try_repo, repo)
        if code != 1:
            failures.append(f"with the duplicate: pre-commit exit {code}, want 1")
        for want in ("connectors/01-orders.yaml:10: error: [server-id-duplicate]",
                     "connectors/08-refunds.yaml:10: error: [server-id-duplicate]",
                     # One run saw every file, and not the README.
                     "checked 8 connectors and 0 KafkaConnects in 8 files: 2 errors"):
            if want not in out:
                failures.append(f"with the duplicate: no {want!r} in:\n{out}")

        run(["git", "rm", "-q", "connectors/08-refunds.yaml"], repo)
        run(["git", "commit", "-qm", "one connector"], repo)
        code, out = run(try_repo, repo)
        if code != 0 or "Passed" not in out:
            failures.append(f"without the duplicate: pre-commit exit {code}, want 0 and Passed:\n{out}")

    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("ok: pre-commit accepts the manifest; the hook fails on the duplicate and passes without it")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
