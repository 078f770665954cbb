#!/bin/bash
# check_flags_documented.sh BIN DOC... — every flag that `BIN <command> --help` lists for
# every command appears in the given documents (README.md, docs/*.md). Fails naming each
# flag that does not, so help and documentation cannot drift apart unnoticed.
set -euo pipefail
bin=$1
shift
docs=("$@")
commands=$("$bin" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1 (($2 ~ /^(server|client)$/) ? " " $2 : "")} on && /^$/{on=0}')
[ -n "$commands" ] || { echo "no commands found in '$bin --help'" >&2; exit 1; }
missing=0
checked=0
while read -r cmd; do
  # shellcheck disable=SC2086
  flags=$("$bin" $cmd --help | grep -oE '^  (-[A-Za-z]|--[a-z0-9-]+)' | tr -d ' ')
  for f in $flags; do
    checked=$((checked + 1))
    if ! grep -qE -- "(^|[^a-z0-9-])$f([^a-z0-9-]|\$)" "${docs[@]}"; then
      echo "ringstamp $cmd: flag $f is in --help but in none of: ${docs[*]}" >&2
      missing=$((missing + 1))
    fi
  done
done <<<"$commands"
[ "$checked" -gt 0 ] || { echo "no flags found in any --help" >&2; exit 1; }
echo "$checked flags checked, $missing undocumented"
[ "$missing" -eq 0 ]
