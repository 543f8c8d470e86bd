#!/bin/sh
# shellcheck disable=SC2059 # head_lines is part of the printf formats on purpose
# tests/errors/gen.sh - writes the error inputs that are not committed as
# .nn files: megabyte-long lines, deep nesting, NUL and other raw bytes, CR.
# Their expected stderr (NAME.err) is committed like every other case's.
#
#   gen.sh --list        the names of the generated cases, one a line
#   gen.sh NAME FILE     writes case NAME's input to FILE
#
# POSIX sh, printf and awk only, so that the same bytes come out everywhere.
set -u

cases="lex_nul_byte lex_binary_garbage lex_elf_header lex_lone_cr lex_crlf_error
lex_long_line lex_long_name lex_megabyte_line lex_many_errors syn_deep_parens syn_deep_brackets
syn_deep_calls syn_deep_minus syn_long_sum"

if [ "${1:-}" = "--list" ]; then
    for c in $cases; do echo "$c"; done
    exit 0
fi
[ $# -eq 2 ] || { echo "usage: gen.sh --list | gen.sh NAME FILE" >&2; exit 2; }
name=$1
out=$2

# repeat N TEXT: TEXT written N times, no newline
repeat() {
    awk -v n="$1" -v s="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s", s }'
}

head_lines='network bad\ninput x[2]\n'

case $name in
lex_nul_byte) # a NUL byte inside an expression
    printf "${head_lines}output p = x\000 * 2\n" >"$out" ;;
lex_binary_garbage) # raw high bytes and control bytes between good lines
    printf "${head_lines}\377\376\200\201 = x\nh = x \001\002 2\noutput p = x\n" >"$out" ;;
lex_elf_header) # a binary given by mistake: no newline for a while, NULs, no network
    printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\003\000>\000\001\000\000\000' >"$out" ;;
lex_lone_cr) # a carriage return not followed by a newline
    printf "${head_lines}output p = x\r* 2\n" >"$out" ;;
lex_crlf_error) # CRLF line ends are fine; the quoted line must not show the CR
    printf 'network bad\r\ninput x[2]\r\noutput p = x @\r\n' >"$out" ;;
lex_long_line) # a valid statement, then a comment that takes the line past 65,536 bytes
    { printf "${head_lines}output p = x * 2  # "; repeat 70000 c; printf '\ny = $\n'; } >"$out" ;;
lex_long_name) # one identifier of 100,000 bytes
    { printf "${head_lines}output p = x * "; repeat 100000 w; printf '\n'; } >"$out" ;;
lex_megabyte_line) # one line of 1 MB: a string argument that never ends on it
    { printf "${head_lines}output p = gelu(x, approximate=\""; repeat 1048576 t; printf '\")\n'; } >"$out" ;;
lex_many_errors) # more errors than nngen reports before it stops
    { printf "$head_lines"; awk 'BEGIN { for (i = 0; i < 60; i++) printf "h%d = x $ 2\n", i }'; } >"$out" ;;
syn_deep_parens) # 10,000 nested parentheses
    { printf "${head_lines}output p = "; repeat 10000 '('; printf x; repeat 10000 ')'; printf '\n'; } >"$out" ;;
syn_deep_brackets) # 10,000 nested square brackets in a shape
    { printf 'network bad\ninput x'; repeat 10000 '['; printf 2; repeat 10000 ']'; printf '\noutput p = x\n'; } >"$out" ;;
syn_deep_calls) # 10,000 nested calls
    { printf "${head_lines}output p = "; repeat 10000 'relu('; printf x; repeat 10000 ')'; printf '\n'; } >"$out" ;;
syn_deep_minus) # 10,000 unary minus signs in a row
    { printf "${head_lines}output p = "; repeat 10000 '-'; printf 'x\n'; } >"$out" ;;
syn_long_sum) # a flat sum of 5,000 terms (a tree 5,000 deep)
    { printf "${head_lines}output p = x"; repeat 5000 ' + x'; printf '\n'; } >"$out" ;;
*)
    echo "gen.sh: no generated case named '$name'" >&2
    exit 2 ;;
esac
