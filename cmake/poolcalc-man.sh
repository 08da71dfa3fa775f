#!/bin/sh
# Writes the man page poolcalc(1) from the built binary's own help: `poolcalc --help`, and
# `poolcalc SUB --help` for every subcommand listed in its "Subcommands:" section, so the page
# says what the binary says. Run by the build (CMakeLists.txt); docs/architecture.md, "Packaging".
#
# usage: poolcalc-man.sh POOLCALC OUTPUT VERSION SUMMARY
#
# CLI11's help has a fixed layout, which is all this reads: description lines, a "Usage:" line,
# headings ("Options:", "Workload:", ...) over entries indented two spaces (name, two or more
# spaces, text), deeper-indented continuation lines, and unindented text (a line starting with a
# capital letter starts a new line, others continue the one before).
set -eu

if [ $# -ne 4 ]; then
  echo "usage: $0 POOLCALC OUTPUT VERSION SUMMARY" >&2
  exit 2
fi
binary=$1
output=$2
version=$3
summary=$4

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! "$binary" --help >"$work/top"; then
  echo "$0: '$binary --help' failed" >&2
  exit 1
fi
subcommands=$(awk '/^Subcommands:$/ { on = 1; next } on && /^$/ { exit } on { print $1 }' "$work/top")
if [ -z "$subcommands" ]; then
  echo "$0: '$binary --help' lists no subcommands (no \"Subcommands:\" section)" >&2
  exit 1
fi

# The renderer. mode=top: the whole page from `poolcalc --help`, with the file `subpages`
# (each subcommand's part) inserted after the list of subcommands. mode=sub: one subcommand.
render='
function esc(s,    r, i, c) {
  r = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\") { r = r "\\e" } else if (c == "-") { r = r "\\-" } else { r = r c }
  }
  if (r ~ /^[.\047]/) { r = "\\&" r }
  return r
}
# "-h,--help" or "--query-ms MS[,MS...]": names bold, value names italic.
function tag(name,    n, parts, m, names, i, out, sp) {
  n = split(name, parts, ",")
  m = 0
  for (i = 1; i <= n; i++) {
    if (m > 0 && parts[i] !~ /^-/) { names[m] = names[m] "," parts[i] } else { names[++m] = parts[i] }
  }
  out = ""
  for (i = 1; i <= m; i++) {
    if (i > 1) { out = out ", " }
    sp = index(names[i], " ")
    if (sp == 0) { out = out "\\fB" esc(names[i]) "\\fR" }
    else { out = out "\\fB" esc(substr(names[i], 1, sp - 1)) "\\fR \\fI" esc(substr(names[i], sp + 1)) "\\fR" }
  }
  return out
}
# "poolcalc fleet [OPTIONS] FILE": command words bold, placeholders italic.
function usage(line,    n, words, i, w, out) {
  n = split(line, words, " ")
  out = ""
  for (i = 1; i <= n; i++) {
    w = words[i]
    if (w ~ /^[a-z]/) { w = "\\fB" esc(w) "\\fR" }
    else { gsub(/[A-Z][A-Z_]*/, "\\fI&\\fR", w); gsub(/-/, "\\-", w) }
    out = out (i > 1 ? " " : "") w
  }
  return out
}
function heading(h) {
  section = h
  if (mode == "sub") { print ".PP"; print "\\fI" esc(h) ":\\fR"; return }
  if (h == "Options") { print ".SH OPTIONS"; in_options = 1 }
  else if (h == "Subcommands") { print ".SH COMMANDS" }
  else if (h == "Examples") { print ".SH EXAMPLES" }
  else { print ".SS " esc(h) }
}
function end_section() {
  if (mode == "top" && section == "Subcommands") {
    while ((getline line < subpages) > 0) { print line }
    close(subpages)
  }
  section = ""
}
BEGIN { state = "description"; section = ""; ndesc = 0 }
state == "description" && /^Usage: / {
  use = substr($0, 8)
  if (mode == "top") {
    print ".SH SYNOPSIS"; print usage(use)
    print ".SH DESCRIPTION"
    for (i = 1; i <= ndesc; i++) { print esc(desc[i]) }
  } else {
    print ".SS \"poolcalc " name "\""
    for (i = 1; i <= ndesc; i++) { print esc(desc[i]) }
    print ".PP"; print usage(use)
  }
  state = "body"; next
}
state == "description" { desc[++ndesc] = $0; next }
/^$/ { if (section != "") { end_section() } ; para = 1; next }
/^[A-Z][A-Za-z ]*:$/ { if (section != "") { end_section() } ; heading(substr($0, 1, length($0) - 1)); para = 0; next }
/^  [^ ]/ {
  body = substr($0, 3)
  gap = match(body, /   */)
  if (gap > 0) { print ".TP"; print tag(substr(body, 1, gap - 1)); print esc(substr(body, gap + RLENGTH)) }
  else if (body ~ /^-/) { print ".TP"; print tag(body) }
  else { print ".TP"; print "\\fB" esc(body) "\\fR" }
  para = 1; next
}
/^   / { sub(/^ +/, ""); print esc($0); next }
{
  if (section != "") { end_section() }
  if (para || mode == "top" && trailing == 0) {
    if (mode == "top" && trailing == 0) { print ".SH NOTES"; trailing = 1 }
    print ".PP"; para = 0
  } else if ($0 ~ /^[A-Z]/) { print ".br" }
  print esc($0)
}
END { if (section != "") { end_section() } }
'

: >"$work/subpages"
for subcommand in $subcommands; do
  if ! "$binary" "$subcommand" --help >"$work/sub"; then
    echo "$0: '$binary $subcommand --help' failed" >&2
    exit 1
  fi
  awk -v mode=sub -v name="$subcommand" "$render" "$work/sub" >>"$work/subpages"
done

{
  printf '.TH POOLCALC 1 "" "poolcalc %s" "User Commands"\n' "$version"
  # Ragged right and no hyphenation: options, paths and commands break only at spaces.
  printf '.ad l\n.nh\n'
  printf '.SH NAME\npoolcalc \\- %s\n' "$(printf '%s' "$summary" | sed 's/-/\\-/g')"
  awk -v mode=top -v subpages="$work/subpages" "$render" "$work/top"
  cat <<'EOF'
.SH FILES
.TP
.I share/poolcalc/rules.toml
under the installation prefix (\fI/usr\fR for the Debian package): a copy of the built\-in
rules, a starting point for \fB\-\-rules\fR \fIFILE\fR. poolcalc itself needs no data files.
.SH SEE ALSO
The documentation installed with poolcalc in \fIshare/doc/poolcalc\fR under the installation
prefix: README.md, usage.md (examples and every option's range), model.md (the math),
rules.md (every rule), json.md, pgbouncer.md, clients.md, fleet.md, architecture.md.
EOF
} >"$work/page"
mv "$work/page" "$output"
