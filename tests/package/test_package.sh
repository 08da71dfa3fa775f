#!/usr/bin/env bash
# The Debian package end to end: `cpack -G DEB` builds it, `dpkg-deb -x` unpacks it into a
# scratch root (never into the system), and the installed files are checked against what the
# installed binary itself says: its version, the main job, and every subcommand and flag its
# --help outputs list, in the man page and in the bash and zsh completions.
# Also checks `cmake --install` into a scratch prefix installs the same files (README.md).
#
# usage: test_package.sh CPACK CMAKE BUILD_DIR SOURCE_DIR VERSION
set -euo pipefail

if [ $# -ne 5 ]; then
  echo "usage: $0 CPACK CMAKE BUILD_DIR SOURCE_DIR VERSION" >&2
  exit 2
fi
cpack=$1
cmake=$2
build=$3
source=$4
version=$5

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
die() {
  echo "FAIL: $*" >&2
  exit 1
}

# Everything below is needed; a missing tool fails the test rather than skipping a check.
for tool in dpkg-deb dpkg-shlibdeps file groff man zsh gzip; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (./.ci/install-deps installs it)"
done
bash_completion=/usr/share/bash-completion/bash_completion
[ -r "$bash_completion" ] || die "$bash_completion is missing: install bash-completion (./.ci/install-deps)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- The package --------------------------------------------------------------------------
if ! "$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log" >&2
  die "cpack -G DEB failed"
fi
deb="$work/out/poolcalc_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || die "cpack did not write $(basename "$deb"); it wrote: $(ls "$work/out")"

field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = poolcalc ] || fail "Package: '$(field Package)'"
[ "$(field Version)" = "$version" ] || fail "Version: '$(field Version)', project(VERSION) is $version"
[ "$(field Section)" = database ] || fail "Section: '$(field Section)'"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ "$(field Recommends)" = libpq5 ] || fail "Recommends: '$(field Recommends)', expected libpq5 (dlopen()ed by inspect)"
depends=$(field Depends)
# dpkg-shlibdeps: libc6 and liburiparser1 are what the binary links (docs/architecture.md,
# "Start-up time"); libpq is loaded only by `poolcalc inspect`, so it must not be a dependency.
for package in libc6 liburiparser1; do
  grep -Eq "(^|, )$package( |,|$)" <<<"$depends" || fail "Depends '$depends' lacks $package"
done
if grep -q libpq <<<"$depends"; then
  fail "Depends '$depends' names libpq, which only poolcalc inspect loads"
fi
description=$(field Description)
grep -qx "Sizes database connection pools and tells when a pooler is needed" <<<"$(head -n 1 <<<"$description")" \
  || fail "Description's first line: '$(head -n 1 <<<"$description")'"

# Only the Debian paths, nothing else.
dpkg-deb --contents "$deb" | awk '{ print $6 }' | grep -v '/$' | sed 's|^\./||' | sort >"$work/files"
# zsh's completion: vendor-completions for the package (prefix /usr), site-functions elsewhere,
# the directories Debian's zsh has in $fpath.
expected_files() {
  local prefix=$1 zsh_dir=site-functions
  [ "$prefix" = usr ] && zsh_dir=vendor-completions
  {
    echo "$prefix/bin/poolcalc"
    echo "$prefix/share/man/man1/poolcalc.1.gz"
    echo "$prefix/share/bash-completion/completions/poolcalc"
    echo "$prefix/share/zsh/$zsh_dir/_poolcalc"
    echo "$prefix/share/poolcalc/rules.toml"
    echo "$prefix/share/doc/poolcalc/README.md"
    for doc in "$source"/docs/*.md; do
      echo "$prefix/share/doc/poolcalc/$(basename "$doc")"
    done
  } | sort
}
expected_files usr >"$work/expected"
diff -u "$work/expected" "$work/files" >&2 || fail "the package's files differ from the expected list (- expected, + in the .deb)"

root="$work/root"
dpkg-deb -x "$deb" "$root"
cmp -s "$source/data/rules.toml" "$root/usr/share/poolcalc/rules.toml" || fail "usr/share/poolcalc/rules.toml is not data/rules.toml"
cmp -s "$source/README.md" "$root/usr/share/doc/poolcalc/README.md" || fail "the installed README.md is not README.md"

# --- The installed binary -----------------------------------------------------------------
poolcalc="$root/usr/bin/poolcalc"
[ "$("$poolcalc" --version)" = "poolcalc $version" ] || fail "--version printed '$("$poolcalc" --version)'"
# The main job: README.md and docs/model.md's worked example, 120 VUs at 150 ms, is a pool of 50.
plan=$("$poolcalc" --vus 120 --query-ms 150) || fail "the main job exited $?"
grep -Eq '^  pool size +50  ' <<<"$plan" || fail "the plan has no 'pool size 50' line: $plan"
grep -qx 'recommendation: a pool of 50 per instance, no PgBouncer needed' <<<"$plan" || fail "the plan's recommendation: $plan"

# --- What the help lists ------------------------------------------------------------------
# The subcommands: the top-level help's "Subcommands:" section. The flags: the first column of
# every option line ("  -h,--help   ...", "  --vus N   ...") of a help output.
subcommands_of() { awk '/^Subcommands:$/ { on = 1; next } on && /^$/ { exit } on { print $1 }' "$1"; }
flags_of() {
  awk '/^  -/ {
    name = substr($0, 3); gap = index(name, "  "); if (gap > 0) { name = substr(name, 1, gap - 1) }
    n = split(name, parts, ",")
    for (i = 1; i <= n; i++) { if (parts[i] ~ /^-/) { sub(/ .*/, "", parts[i]); print parts[i] } }
  }' "$1"
}
"$poolcalc" --help >"$work/help" || die "poolcalc --help failed"
mapfile -t subcommands < <(subcommands_of "$work/help")
# The nine subcommands of `poolcalc --help` before completion joined them (size ... fleet).
[ ${#subcommands[@]} -ge 9 ] || die "poolcalc --help lists ${#subcommands[@]} subcommands: ${subcommands[*]}"
mapfile -t top_flags < <(flags_of "$work/help")
[ ${#top_flags[@]} -ge 2 ] || die "no flags in poolcalc --help"
declare -A sub_flags
for sub in "${subcommands[@]}"; do
  "$poolcalc" "$sub" --help >"$work/help-$sub" || die "poolcalc $sub --help failed"
  sub_flags[$sub]=$(flags_of "$work/help-$sub")
  [ -n "${sub_flags[$sub]}" ] || die "no flags in poolcalc $sub --help"
done

# --- The man page -------------------------------------------------------------------------
man_page="$root/usr/share/man/man1/poolcalc.1.gz"
gzip -dc "$man_page" >"$work/poolcalc.1" || die "$man_page is not gzip"
warnings=$(groff -man -Tutf8 -ww -z "$work/poolcalc.1" 2>&1) || fail "groff failed"
[ -z "$warnings" ] || fail "groff warns about the man page: $warnings"
MANWIDTH=80 man -l "$man_page" >"$work/man.txt" 2>"$work/man.err" || fail "man -l failed: $(cat "$work/man.err")"
[ -s "$work/man.err" ] && fail "man -l wrote to stderr: $(cat "$work/man.err")"
head -n 1 "$work/man.txt" | grep -q '^POOLCALC(1) ' || fail "man -l's first line: $(head -n 1 "$work/man.txt")"
grep -q "^poolcalc $version " "$work/man.txt" || fail "the man page does not name poolcalc $version"
# The names a part of the page defines: the tags after .TP from the line `from` up to the next
# line matching `stop`, unescaped, the first word of each comma-separated name.
tags_in() {
  awk -v from="$1" -v stop="$2" '
    $0 == from { on = 1; next } on && $0 ~ stop { exit } on && previous == ".TP" { print } { previous = $0 }
  ' "$work/poolcalc.1" | sed -e 's/\\-/-/g' -e 's/\\f[BIR]//g' | tr ',' '\n' | awk '{ print $1 }'
}
tags_in ".SH OPTIONS" '^[.]SH ' >"$work/man-top-flags"
for flag in "${top_flags[@]}"; do
  grep -qxF -- "$flag" "$work/man-top-flags" || fail "the man page's OPTIONS do not define $flag"
done
tags_in ".SH COMMANDS" '^[.]S[HS] ' >"$work/man-commands"
for sub in "${subcommands[@]}"; do
  grep -qxF -- "$sub" "$work/man-commands" || fail "the man page's COMMANDS list lacks $sub"
  grep -qxF ".SS \"poolcalc $sub\"" "$work/poolcalc.1" || { fail "the man page has no section for poolcalc $sub" && continue; }
  tags_in ".SS \"poolcalc $sub\"" '^[.]S[HS] ' >"$work/man-flags-$sub"
  for flag in ${sub_flags[$sub]}; do
    grep -qxF -- "$flag" "$work/man-flags-$sub" || fail "the man page's poolcalc $sub section does not define $flag"
  done
done

# --- bash completion ----------------------------------------------------------------------
# The completion function is called as bash calls it (COMP_WORDS, COMP_CWORD, COMP_LINE,
# COMP_POINT; arguments command, word, previous word) with bash-completion's helpers loaded.
# Each query completes the last word; the word itself must be among the answers. Completion
# offers the long form of each option (--help, not its alias -h), as git's and systemctl's do.
queries="$work/bash-queries"
: >"$queries"
echo "poolcalc|" >>"$queries" # an empty word after poolcalc: every subcommand
for flag in "${top_flags[@]}"; do
  [[ $flag == --* ]] || continue
  echo "poolcalc|$flag" >>"$queries"
done
for sub in "${subcommands[@]}"; do
  echo "poolcalc|${sub:0:2}" >>"$queries"
  for flag in ${sub_flags[$sub]}; do
    [[ $flag == --* ]] || continue
    echo "poolcalc|$sub|$flag" >>"$queries"
  done
done
bash --norc --noprofile -c '
  source "$1" || { echo "bash-completion did not load"; exit 1; }
  source "$2" || { echo "the completion script failed"; exit 1; }
  spec=$(complete -p poolcalc 2>/dev/null) || { echo "no completion registered for poolcalc"; exit 1; }
  case "$spec" in *" -F "*) ;; *) echo "not a function completion: $spec"; exit 1 ;; esac
  function=${spec##* -F }
  function=${function%% *}
  while IFS="|" read -r -a words; do
    [ "${#words[@]}" -eq 1 ] && words+=("")
    COMP_WORDS=("${words[@]}")
    COMP_CWORD=$((${#words[@]} - 1))
    COMP_LINE="${words[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$function" poolcalc "${words[COMP_CWORD]}" "${words[COMP_CWORD - 1]}" </dev/null >/dev/null 2>&1
    for reply in "${COMPREPLY[@]}"; do
      printf "%s|%s\n" "${words[*]}" "${reply%% }"
    done
  done <"$3"
' bash "$bash_completion" "$root/usr/share/bash-completion/completions/poolcalc" "$queries" >"$work/bash-replies" \
  || die "bash completion: $(cat "$work/bash-replies")"
bash_offers() { grep -qxF -- "$1|$2" "$work/bash-replies"; }
for sub in "${subcommands[@]}"; do
  bash_offers "poolcalc " "$sub" || fail "bash completion of 'poolcalc ' does not offer $sub"
  bash_offers "poolcalc ${sub:0:2}" "$sub" || fail "bash completion of 'poolcalc ${sub:0:2}' does not offer $sub"
  for flag in ${sub_flags[$sub]}; do
    [[ $flag == --* ]] || continue
    bash_offers "poolcalc $sub $flag" "$flag" || fail "bash completion of 'poolcalc $sub $flag' does not offer $flag"
  done
done
for flag in "${top_flags[@]}"; do
  [[ $flag == --* ]] || continue
  bash_offers "poolcalc $flag" "$flag" || fail "bash completion of 'poolcalc $flag' does not offer $flag"
done

# --- zsh completion -----------------------------------------------------------------------
zsh_file="$root/usr/share/zsh/vendor-completions/_poolcalc"
head -n 1 "$zsh_file" | grep -q '^#compdef poolcalc' || fail "_poolcalc does not start with '#compdef poolcalc'"
zsh_errors=$(zsh --no-rcs -n "$zsh_file" 2>&1) || fail "zsh -n _poolcalc: $zsh_errors"
for sub in "${subcommands[@]}"; do
  grep -qw -- "$sub" "$zsh_file" || fail "_poolcalc does not mention the subcommand $sub"
done
for flag in "${top_flags[@]}" ${sub_flags[*]}; do
  grep -qF -- "$flag" "$zsh_file" || fail "_poolcalc does not mention $flag"
done

# --- cmake --install ----------------------------------------------------------------------
"$cmake" --install "$build" --prefix "$work/prefix" >/dev/null || fail "cmake --install failed"
(cd "$work/prefix" && find . -type f | sed 's|^\./||' | sort) >"$work/installed"
expected_files local-prefix | sed 's|^local-prefix/||' >"$work/expected-install"
diff -u "$work/expected-install" "$work/installed" >&2 || fail "cmake --install's files differ from the package's"

if [ "$failures" -ne 0 ]; then
  echo "package: $failures failures" >&2
  exit 1
fi
echo "package: ok (${#subcommands[@]} subcommands, $(($(wc -l <"$queries"))) bash completion queries)"
