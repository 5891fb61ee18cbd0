#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs for each fuzz target (README: Fuzzing):
# the repository's samples and test fixtures, fuzz/seeds/ (small hand-made seeds), and the
# capture corpus when it is there ($LYNCSCOPE_CORPUS, else ../shared/corpus beside the
# repository). fuzz/corpus/ is not committed: run this once after a checkout; libFuzzer then
# adds what it finds to the same folders.
#
# Files over MAX_SEED bytes (default 256 KiB) are left out: mutating megabytes slows every
# execution down, and the small files cover the same formats.
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$fuzz")"
corpus="${LYNCSCOPE_CORPUS:-$repo/../shared/corpus}"
max=${MAX_SEED:-262144}
out="$fuzz/corpus"

# seed TARGET FILE [PREFIX]: copies FILE into corpus/TARGET/ under a name made from its path,
# with PREFIX (printf escapes) before its bytes.
seed() {
  local target=$1 file=$2 prefix=${3:-}
  [ -f "$file" ] || return 0
  [ "$(stat -c %s "$file")" -le "$max" ] || return 0
  local name path
  path=$(realpath "$file")
  case "$path" in
    "$repo"/*) name=${path#"$repo"/} ;;
    *) name=corpus/$(realpath --relative-to="$(realpath "$corpus")" "$path") ;;
  esac
  name=$(printf '%s' "$name" | tr '/' '_')
  [ -z "$prefix" ] || name="$name.$(printf '%s' "$prefix" | tr -dc '0-9a-z')"
  mkdir -p "$out/$target"
  { printf "$prefix"; cat "$file"; } >"$out/$target/$name"
}

# find_in DIR FIND-ARGS...: files under DIR (nothing when DIR is missing), NUL-separated.
find_in() {
  local dir=$1
  shift
  [ -d "$dir" ] || return 0
  find "$dir" -type f "$@" -print0
}

if [ ! -d "$corpus" ]; then
  echo "seed.sh: no corpus at $corpus: seeding from the repository only" >&2
fi

# Captures (and trace archives, which the pipeline sniffs by content) for the whole pipeline.
while IFS= read -r -d '' f; do seed pipeline "$f"; done < <(
  find_in "$repo/samples" \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.saz' \)
  find_in "$repo/tests/data" \( -name '*.pcap' -o -name '*.pcapng' \)
  find_in "$corpus" \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \)
  find_in "$corpus/saz" -name '*.handmade.saz'
  find_in "$corpus/har" -name '*.har' -size -16k
)

while IFS= read -r -d '' f; do seed saz "$f"; done < <(
  find_in "$repo/samples" -name '*.saz'
  find_in "$corpus" -name '*.saz'
)

while IFS= read -r -d '' f; do seed har "$f"; done < <(
  find_in "$corpus" -name '*.har'
)

while IFS= read -r -d '' f; do seed keylog "$f"; done < <(
  find_in "$repo/samples" -name '*.keylog.txt'
  find_in "$repo/tests/data" -name '*.keys.txt'
  find_in "$corpus" \( -name '*.keylog' -o -name '*keylog*.txt' -o -name '*.keys.txt' \
    -o -name 'premaster.txt' -o -name 'TLS1*.txt' -o -name 'mTLS1*.txt' \)
)

# Key files: the target's first byte chooses the password (0 none, 1 "test", 2 empty, 3 wrong;
# +4: a .pfx name), see src/fuzzing.rs. Each file with and without its password.
while IFS= read -r -d '' f; do
  case "$f" in
    *.pfx | *.p12) seed key_file "$f" '\004'; seed key_file "$f" '\005'; seed key_file "$f" '\006' ;;
    *) seed key_file "$f" '\000'; seed key_file "$f" '\001' ;;
  esac
done < <(
  find_in "$repo/tests/data/keys" \( -name '*.pem' -o -name '*.der' -o -name '*.pfx' -o -name '*.p12' \)
  find_in "$repo/samples" \( -name '*.pem' -o -name '*.crt' \)
  find_in "$corpus" -name '*.pem'
)

# Hand-made seeds kept in the repository (filter expressions, …).
for dir in "$fuzz"/seeds/*/; do
  target=$(basename "$dir")
  while IFS= read -r -d '' f; do seed "$target" "$f"; done < <(find_in "$dir")
done

for dir in "$out"/*/; do
  printf '%-10s %5d seeds\n' "$(basename "$dir")" "$(find "$dir" -type f | wc -l)"
done
