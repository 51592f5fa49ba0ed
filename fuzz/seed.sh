#!/usr/bin/env bash
# Builds the seed corpora from the examples, the pack's fixtures and the toml-test suite.
set -euo pipefail
cd "$(dirname "$0")"
root=..
mkdir -p corpus/estate corpus/rule
cp "$root"/examples/*.toml "$root"/rules/officescan/tests/*.toml corpus/estate/
i=0
while read -r f; do
  case "$f" in *.toml) cp "$root/../shared/corpus/toml-test/$f" "corpus/estate/toml-test-$i.toml"; i=$((i+1));; esac
done < "$root/../shared/corpus/toml-test/files-toml-1.0.0"
# A rule seed is a script (header stripped), a NUL byte, then an estate.
for r in "$root"/rules/officescan/*.rhai "$root"/examples/site-rules/*.rhai; do
  { sed '/^\/\/!/d' "$r"; printf '\0'; cat "$root/rules/officescan/tests/compliant.toml"; } > "corpus/rule/$(basename "$r" .rhai)"
done
