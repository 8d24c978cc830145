#!/usr/bin/env bash
# JVM tests of the Android app's pure-Java core (android_demo/core), without Gradle or the SDK:
#   1. generate the tokenizer golden vectors with the HF fast tokenizer: WordPiece
#      (scripts/gen_tokenizer_golden.py), byte-level BPE and SentencePiece Unigram
#      (scripts/gen_tokenizer_golden_families.py, into tokenizer-golden/families/)
#   2. compile core main + test sources with javac (release 17)
#   3. run every test class with JUnit 4; exit non-zero on any failure.
# Run from anywhere:  PYTHON=/abs/path/.venv/bin/python bash android_demo/host-tests.sh
# Needs: a JDK (javac >= 17) and Debian's junit4 (/usr/share/java/junit4.jar + hamcrest-core.jar).
# Env: PYTHON (default: <repo>/.venv/bin/python), BUILD_DIR (default: <repo>/build/android-host-tests),
#      JUNIT_JAR, HAMCREST_JAR, FUZZ (random cases per tokenizer, default 1500), SEED (default 6),
#      CHECK_TABLES=1 to also re-probe tokenizers and check UnicodeTables.java is current (~30 s;
#      needs the sentencepiece and regex packages).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
BUILD_DIR="${BUILD_DIR:-$REPO/build/android-host-tests}"
JUNIT_JAR="${JUNIT_JAR:-/usr/share/java/junit4.jar}"
HAMCREST_JAR="${HAMCREST_JAR:-/usr/share/java/hamcrest-core.jar}"
CORE="$HERE/core"
GOLDEN="$BUILD_DIR/tokenizer-golden"

die() { echo "host-tests: error: $*" >&2; exit 2; }

command -v javac >/dev/null || die "javac not found (install a JDK 17, e.g. apt-get install -y openjdk-17-jdk-headless)"
command -v java >/dev/null || die "java not found"
[ -f "$JUNIT_JAR" ] || die "$JUNIT_JAR not found (apt-get install -y junit4)"
[ -f "$HAMCREST_JAR" ] || die "$HAMCREST_JAR not found (apt-get install -y junit4 brings libhamcrest-java)"
[ -x "$PYTHON" ] || die "python $PYTHON not found (set PYTHON=/abs/path/.venv/bin/python)"
jv="$(javac -version 2>&1 | sed -E 's/^javac ([0-9]+).*/\1/')"
[ "$jv" -ge 17 ] 2>/dev/null || die "javac $jv found, need >= 17"

t0=$SECONDS
rm -rf "$BUILD_DIR/classes" "$BUILD_DIR/test-classes"
mkdir -p "$BUILD_DIR/classes" "$BUILD_DIR/test-classes" "$GOLDEN"

# 1. golden vectors (the tokenizer golden tests FAIL when they are missing), generated in the
#    background while javac runs: WordPiece, then the BPE / Unigram families (one after the
#    other: one core for Python, one for javac)
rm -rf "$GOLDEN/tokenizer_golden.jsonl" "$GOLDEN/families"
echo "host-tests: generating tokenizer golden vectors (scripts/gen_tokenizer_golden.py, gen_tokenizer_golden_families.py)"
( export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
  trap 'kill $child 2>/dev/null; exit 143' TERM  # `wait` lets the trap stop the running generator
  "$PYTHON" "$REPO/scripts/gen_tokenizer_golden.py" --out "$GOLDEN" --fuzz "${FUZZ:-1500}" --seed "${SEED:-6}" &
  child=$!; wait $child || exit $?
  "$PYTHON" "$REPO/scripts/gen_tokenizer_golden_families.py" --out "$GOLDEN/families" \
    --fuzz "${FUZZ:-1500}" --seed "${SEED:-6}" &
  child=$!; wait $child ) &
gen_pid=$!
trap 'kill $gen_pid 2>/dev/null || true' EXIT

# 2. compile (release 17; main alone first, so it cannot lean on test code or JUnit)
echo "host-tests: compiling core"
find "$CORE/src/main/java" -name '*.java' > "$BUILD_DIR/main-sources.txt"
find "$CORE/src/test/java" -name '*.java' > "$BUILD_DIR/test-sources.txt"
if grep -l -E '^import android\.' $(cat "$BUILD_DIR/main-sources.txt") >/dev/null 2>&1; then
  die "core/src/main imports android.* (the core must stay Android-free): $(grep -l -E '^import android\.' $(cat "$BUILD_DIR/main-sources.txt"))"
fi
javac --release 17 -encoding UTF-8 -Xlint:all,-serial -Werror -d "$BUILD_DIR/classes" @"$BUILD_DIR/main-sources.txt"
CP="$BUILD_DIR/classes:$CORE/src/test/resources:$JUNIT_JAR:$HAMCREST_JAR"
javac --release 17 -encoding UTF-8 -Xlint:all,-serial -Werror -cp "$CP" -d "$BUILD_DIR/test-classes" @"$BUILD_DIR/test-sources.txt"

wait $gen_pid || die "tokenizer golden generation failed"
trap - EXIT
if [ "${CHECK_TABLES:-0}" = 1 ]; then
  "$PYTHON" "$HERE/tools/gen_unicode_tables.py" --check
fi

# 3. run every concrete *Test class
classes="$(cd "$BUILD_DIR/test-classes" && find . -name '*Test.class' ! -name '*$*' | sed -e 's|^\./||' -e 's|\.class$||' -e 's|/|.|g' | sort)"
[ -n "$classes" ] || die "no test classes found"
echo "host-tests: running $(echo "$classes" | wc -l) test classes"
set +e
java -Xss8m -Dbertedge.tokenizerGolden="$GOLDEN" -cp "$BUILD_DIR/test-classes:$CP" org.junit.runner.JUnitCore $classes \
  > "$BUILD_DIR/junit.log" 2>&1
rc=$?
set -e
# JUnit prints one dot per test; keep the log readable, show failures and the summary
sed -e '/^[.E]*$/d' "$BUILD_DIR/junit.log" | grep -v -E '^\s+at (org\.junit|java\.base|jdk\.internal|sun\.reflect)' || true
echo "host-tests: $( [ $rc -eq 0 ] && echo PASS || echo FAIL ) in $((SECONDS - t0)) s (log: $BUILD_DIR/junit.log)"
exit $rc
