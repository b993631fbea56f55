#!/usr/bin/env bash
# Land the current branch on main: merge main in, then fmt, clippy and the whole suite
# (`scripts/test.sh`: SQLite, PostgreSQL, headless Chromium) on the merged tree, then
# fast-forward main to it.
#
# Run it from a worktree of the branch to land (`git worktree add ../wt/NAME -b NAME`);
# the worktree that has `main` checked out must be clean, because it is fast-forwarded.
# The tests run without a lock, so several developers can test at once; only the final
# check-and-move is serialised. If main moved while the suite ran, main is merged again
# and the suite runs again (at most three times), so nothing lands untested.
#
#   scripts/land.sh            # land HEAD's branch
#   LAND_SKIP_TESTS=1 ...      # never: reserved for landing this script itself
set -euo pipefail

die() { echo "land: $*" >&2; exit 1; }

branch=$(git rev-parse --abbrev-ref HEAD)
[ "$branch" != main ] || die "run me from a branch's worktree, not from main"
git diff --quiet && git diff --cached --quiet || die "commit or stash your changes first"

main_dir=$(git worktree list --porcelain |
  awk '/^worktree /{p=substr($0,10)} /^branch refs\/heads\/main$/{print p}')
[ -n "$main_dir" ] || die "no worktree has main checked out"
git -C "$main_dir" diff --quiet && git -C "$main_dir" diff --cached --quiet ||
  die "the main worktree ($main_dir) has uncommitted changes"

lock="$(git rev-parse --git-common-dir)/land.lock"

for attempt in 1 2 3; do
  echo "land: attempt $attempt: merging main ($(git rev-parse --short main)) into $branch"
  git merge --no-edit main || die "merge conflict: resolve, commit, and run me again"

  cargo fmt --all --check || die "cargo fmt --all found unformatted code"
  cargo clippy --workspace --all-targets --locked -- -D warnings || die "clippy failed"
  if [ "${LAND_SKIP_TESTS:-0}" != 1 ]; then
    ./scripts/test.sh || die "the test suite failed"
  fi

  # Move main only if it is still an ancestor of what was tested.
  status=0
  (
    flock 9
    if git merge-base --is-ancestor main HEAD; then
      git -C "$main_dir" merge --ff-only --quiet "$branch"
      echo "land: main is now $(git rev-parse --short main)"
    else
      exit 3
    fi
  ) 9>"$lock" || status=$?
  case "$status" in
    0) exit 0 ;;
    3) echo "land: main moved while the suite ran; merging it and testing again" ;;
    *) die "fast-forwarding main failed" ;;
  esac
done
die "main kept moving; try again"
