#!/usr/bin/env bash
# Compares `ringlink bench` between two builds, alternating them in one session.
#
#   scripts/bench-compare.sh BASE_REV [NEW_REV] [options] [-- extra ringlink bench options]
#
# Builds both revisions from `git archive` into separate directories (BASE = A, NEW = B; NEW
# defaults to HEAD; WORKTREE means this checkout with its uncommitted changes), finds the cells
# both builds can run here, then runs them for N rounds, A,B then B,A then A,B ..., every run a
# separate `ringlink bench` process of its own build. Per cell it prints the median of A, the
# median of B, B/A (the median of the per-round ratios; each round's A and B ran back to back)
# with their min-max, the same ratio relative to the cell's in-run peer (reference), and a
# verdict from the per-round ratios (for a cell with a peer, raw and peer-relative must agree):
#   slower      every round's B/A < 0.95 (a drop of more than 5% in every round)
#   faster      every round's B/A > 1.05
#   same        every round's B/A within [0.95, 1.05]
#   no drop     every round's B/A >= 0.95 (some above 1.05)
#   noise       the rounds straddle 0.95 (median >= 0.95), or raw and peer-relative disagree:
#               the spread can neither exclude a 5% drop nor show one
#   noise-slow  the rounds straddle 0.95 and their median is below it: rerun with more rounds
#   -           fewer than 2 rounds with figures on both sides (failed or skipped cells)
# Peer cells (e.g. OVS, testpmd, kernel veth) are the same program in A and B: their B/A shows
# how much the machine drifted between the runs, i.e. how far any verdict can be trusted.
#
# Options:
#   --rounds N      rounds (default 3; each round runs A once and B once)
#   --only REGEX    cells to compare (ringlink bench --only; default: every cell both can run)
#   --sizes LIST    frame sizes (default 64,1500)
#   --duration S    seconds per measurement (default 3)
#   --repeat R      repetitions inside each run (default 1: the rounds are the repetitions)
#   --results DIR   where the table, JSON and the raw runs go (default bench-results/compare-<time>)
#   --work DIR      where the two builds go (default a temp dir, removed at the end); a build of the
#                   same commit already there is reused, so reruns skip the build
#   --keep          keep the temp build dir
#   --analyse DIR   only (re)print the table of an earlier run's results DIR
# Needs git, python3, a JDK 25 (scripts/lib.sh) and what the selected cells need (most: root).
set -euo pipefail
# The whole script is one block that bash reads before it runs any of it: a comparison takes
# tens of minutes, and a checkout or an edit of this file meanwhile must not change it under
# the running shell.
{
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
. "$here/scripts/lib.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

base="" new="" rounds=3 only="" sizes="64,1500" duration=3 repeat=1 results="" work="" keep=0 analyse=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --rounds) rounds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --analyse|--analyze) analyse=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -*) echo "bench-compare: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) if [ -z "$base" ]; then base=$1; elif [ -z "$new" ]; then new=$1; else echo "bench-compare: too many revisions" >&2; exit 2; fi; shift ;;
  esac
done

analyse_py() { python3 "$here/scripts/bench-compare.py" "$@"; }

if [ -n "$analyse" ]; then analyse_py "$analyse"; exit $?; fi
[ -n "$base" ] || { usage >&2; exit 2; }
new=${new:-HEAD}
case "$rounds" in ''|*[!0-9]*|0) echo "bench-compare: --rounds must be a positive integer" >&2; exit 2 ;; esac
command -v python3 >/dev/null || { echo "bench-compare: needs python3" >&2; exit 2; }
ringlink_find_jdk25

resolve() {
  if [ "$1" = WORKTREE ]; then echo WORKTREE; return; fi
  git -C "$here" rev-parse --verify --quiet "$1^{commit}" || { echo "bench-compare: no such revision: $1" >&2; exit 2; }
}
a_rev=$(resolve "$base"); b_rev=$(resolve "$new")

tmp_made=0
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/rl-benchcmp.XXXXXX"); tmp_made=1; fi
mkdir -p "$work"; work=$(cd "$work" && pwd)
cleanup() { if [ "$tmp_made" = 1 ] && [ "$keep" = 0 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

stamp=$(date -u +%Y%m%d-%H%M%S)
results=${results:-bench-results/compare-$stamp}
mkdir -p "$results/runs"; results=$(cd "$results" && pwd)
log() { echo "bench-compare: $*" | tee -a "$results/log.txt" >&2; }

# The source of REV in DIR (a git archive, or this checkout's tracked and untracked-not-ignored
# files for WORKTREE), built as the launcher builds it: offline if the Maven cache allows.
build() {
  local rev=$1 dir=$2
  if [ "$rev" != WORKTREE ] && [ -f "$dir/.bench-compare-rev" ] && [ "$(cat "$dir/.bench-compare-rev")" = "$rev" ] \
      && { [ -f "$dir/target/ringlink.jar" ] || [ -f "$dir/ringlink-cli/target/ringlink.jar" ]; }; then
    # (the single-module layout before issue #17 built target/ringlink.jar, the modules layout ringlink-cli/target/)
    log "reusing the build of $rev in $dir"; return 0
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  if [ "$rev" = WORKTREE ]; then
    # Tracked and untracked-not-ignored files as they are now (a tracked file deleted here stays out).
    (cd "$here" && git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
      | tar --null -T - -cf -) | tar -xf - -C "$dir"
  else
    git -C "$here" archive --format=tar "$rev" | tar -xf - -C "$dir"
  fi
  log "building $rev in $dir (package, tests compiled not run) ..."
  local t0=$SECONDS
  (cd "$dir" && { ./mvnw -B -q -ntp -o -DskipTests package || ./mvnw -B -q -ntp -DskipTests package; }) >"$dir.build.log" 2>&1 \
    || { tail -30 "$dir.build.log" >&2; log "build of $rev failed (log: $dir.build.log)"; exit 1; }
  echo "$rev" >"$dir/.bench-compare-rev"
  log "built $rev in $((SECONDS - t0)) s"
}

dir_of() { if [ "$1" = WORKTREE ]; then echo "$work/worktree"; else echo "$work/$1"; fi; }
a_dir=$(dir_of "$a_rev"); b_dir=$(dir_of "$b_rev")
t_start=$SECONDS
build "$a_rev" "$a_dir"
[ "$b_dir" = "$a_dir" ] || build "$b_rev" "$b_dir"

# Every run: that build's launcher and bench scripts (RINGLINK_HOME), its classes prebuilt
# (RINGLINK_NO_BUILD), nothing inherited that points at another tree.
bench() {
  local dir=$1; shift
  (cd "$dir" && env -u RINGLINK -u RINGLINK_JAVA_OPTS RINGLINK_HOME="$dir" RINGLINK_NO_BUILD=1 ./ringlink bench "$@")
}
size_args=(--sizes "$sizes")
only_args=(); [ -z "$only" ] || only_args=(--only "$only")

# The cells both builds can run here; cells only one has are listed, not compared.
bench "$a_dir" --list "${size_args[@]}" "${only_args[@]}" "${extra[@]}" >"$results/list-A.txt" 2>"$results/list-A.err" || true
bench "$b_dir" --list "${size_args[@]}" "${only_args[@]}" "${extra[@]}" >"$results/list-B.txt" 2>"$results/list-B.err" || true
common=$(python3 - "$results/list-A.txt" "$results/list-B.txt" <<'EOF'
import sys, re
def runnable(path):
    out = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line or "[skipped here:" in line: continue
        out.append(re.sub(r" \(reference\)$", "", line))
    return out
a, b = runnable(sys.argv[1]), runnable(sys.argv[2])
both = [l for l in a if l in b]
print("^(" + "|".join("\\Q" + l + "\\E" for l in both) + ")$" if both else "")
EOF
)
[ -n "$common" ] || { log "no cell both builds can run here (see $results/list-A.txt, list-B.txt)"; exit 1; }

cat >"$results/meta.json" <<EOF
{"base": "$base", "base_rev": "$a_rev", "new": "$new", "new_rev": "$b_rev", "rounds": $rounds,
 "duration_s": $duration, "repeat": $repeat, "sizes": "$sizes", "only": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$only"),
 "started_utc": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "host_cpus": $(nproc), "loadavg_start": "$(cut -d' ' -f1-3 /proc/loadavg)"}
EOF
log "comparing A=$base ($a_rev) with B=$new ($b_rev): $rounds rounds, ${duration} s x $repeat per cell, results in $results"

for ((r = 1; r <= rounds; r++)); do
  if ((r % 2 == 1)); then order="A B"; else order="B A"; fi
  for side in $order; do
    if [ "$side" = A ]; then dir=$a_dir; else dir=$b_dir; fi
    out="$results/runs/round$r-$side"
    log "round $r/$rounds: $side (load $(cut -d' ' -f1-3 /proc/loadavg))"
    t0=$SECONDS
    bench "$dir" --only "$common" "${size_args[@]}" --duration "$duration" --repeat "$repeat" --results "$out" "${extra[@]}" \
      >"$out.log" 2>&1 || log "round $r $side: ringlink bench exited $? (failed cells are left out; see $out.log)"
    echo "{\"round\": $r, \"side\": \"$side\", \"seconds\": $((SECONDS - t0)), \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$results/runs/timing.jsonl"
  done
done
python3 - "$results/meta.json" "$((SECONDS - t_start))" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import json, sys, datetime
p = sys.argv[1]; m = json.load(open(p))
m.update(wall_s=int(sys.argv[2]), loadavg_end=sys.argv[3], ended_utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
json.dump(m, open(p, "w"), indent=1)
EOF
analyse_py "$results"
exit $?
}
