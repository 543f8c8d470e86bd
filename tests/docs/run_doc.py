#!/usr/bin/env python3
"""tests/docs/run_doc.py - runs the command blocks of a Markdown page as
written and compares what they print with the output the page shows.

    run_doc.py --list PAGE.md
        the labels of the page's marked blocks, one a line (run, slow, firmware)
    run_doc.py --source ROOT --build BUILD --work DIR [--label L] PAGE.md
        runs the blocks marked L (default: run), in order, in one shell

Convention (docs/testing.md, "Docs that run"): an HTML comment on the line
right before a fenced block marks it to run; unmarked blocks never run.

    <!-- test -->              (or <!-- test: run -->) run by docs.PAGE
    <!-- test: slow -->        run by docs.PAGE.slow (label slow)
    <!-- test: firmware -->    run by docs.PAGE.firmware (label firmware)

Text after the label (<!-- test: slow, LeNet trains for a minute -->) is a
comment. A ```console block holds commands after "$ " (a line ending in a
backslash continues on the next line, a here-document runs to its end
word); every other line is the output the command above it prints, stdout
and stderr together, as on a terminal. A ```sh block is one script; if a
plain ``` block follows it (blank lines between at most), that is its output.

Output comparison, line by line, the whole output of each command: trailing
spaces and trailing blank lines do not count; a line "..." (alone on its
line, indentation allowed) stands for any number of lines, none included;
times in seconds ("0.4 s", "12.3 s") compare equal to any other, and so
do thread counts ("2 threads": nngen train's default is one per core); the line
"nngen: compiled the trainer in ..." (printed when nngen train builds a
trainer, not when its cache holds one) is not compared. A command
that exits with a non-zero status fails the test unless the next command
of the block is "echo $?" (which then shows the status).

The blocks of one label run in order in one shell (sh), so variables and
files carry from block to block, in a scratch directory WORK/run standing
for the repository's root (pages run from there, as they say): a copy of
examples/, a link build -> BUILD (so build/nngen is the build's nngen),
links to the other entries of the root (runtime/, docs/, ...); BUILD is
first on PATH (nngen is the build's). The page is never
changed; the scratch directory is emptied first.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

MARK = re.compile(r'^<!--\s*test(?:\s*:\s*([a-z]+))?\b.*-->\s*$')
FENCE = re.compile(r'^```\s*([A-Za-z]*)\s*$')
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z_0-9]*)\1")
TIME = re.compile(r'\b\d+\.\d s\b')
THREADS = re.compile(r'\b\d+ threads?\b')
# printed only when nngen train builds a trainer, not when its cache has one
UNCOMPARED = re.compile(r'^nngen: compiled the trainer in ')
LABELS = ('run', 'slow', 'firmware')


class Command:
    def __init__(self, text, line):
        self.text = text        # the shell text, as given to sh
        self.line = line        # its first line in the page
        self.shown = None       # the output lines the page shows, or None: not compared


class Block:
    def __init__(self, label, kind, line):
        self.label, self.kind, self.line = label, kind, line
        self.commands = []


def fail_page(page, line, msg):
    sys.exit('%s:%d: %s' % (page, line, msg))


def read_fences(lines):
    """[(kind, first body line index, body lines, index of the line before the fence)]"""
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith('```'):
            body.append(lines[i])
            i += 1
        out.append((m.group(1), start + 1, body, start - 1))
        i += 1
    return out


def parse_console(body, first, page):
    """$ commands (with continuations and here-documents) and the lines after them"""
    cmds, i = [], 0
    while i < len(body):
        line = body[i]
        if not line.startswith('$ '):
            if cmds:
                cmds[-1].shown.append(line)
            elif line.strip():
                fail_page(page, first + i, 'output before the first "$ " command')
            i += 1
            continue
        cmd = Command(line[2:], first + i)
        cmd.shown = []
        i += 1
        while cmd.text.endswith('\\') and i < len(body):
            nxt = body[i]
            cmd.text += '\n' + (nxt[2:] if nxt.startswith('> ') else nxt)
            i += 1
        for m in HEREDOC.finditer(cmd.text):
            while i < len(body) and body[i].strip() != m.group(2):
                cmd.text += '\n' + body[i]
                i += 1
            if i == len(body):
                fail_page(page, cmd.line, 'here-document without its end word ' + m.group(2))
            cmd.text += '\n' + body[i]
            i += 1
        cmds.append(cmd)
    return cmds


def parse(page):
    """the marked blocks of the page, in order"""
    with open(page, encoding='utf-8') as f:
        lines = f.read().split('\n')
    fences = read_fences(lines)
    blocks = []
    for n, (kind, first, body, before) in enumerate(fences):
        m = MARK.match(lines[before]) if before >= 0 else None
        if not m:
            continue
        label = m.group(1) or 'run'
        if label not in LABELS:
            fail_page(page, before + 1, 'unknown test label "%s" (run, slow, firmware)' % label)
        block = Block(label, kind, first)
        if kind == 'console':
            block.commands = parse_console(body, first + 1, page)
        elif kind in ('sh', 'shell', 'bash'):
            cmd = Command('\n'.join(body), first + 1)
            nxt = fences[n + 1] if n + 1 < len(fences) else None
            if nxt and nxt[0] == '' and all(not s.strip() for s in lines[first + len(body) + 1:nxt[3]]):
                cmd.shown = nxt[2]
            block.commands = [cmd]
        else:
            fail_page(page, first, 'a marked block must be ```console or ```sh, not ```' + kind)
        if not block.commands:
            fail_page(page, first, 'a marked block without a command')
        blocks.append(block)
    return blocks


def normalize(lines):
    out = [THREADS.sub('N threads', TIME.sub('T s', s.rstrip())) for s in lines if not UNCOMPARED.match(s)]
    while out and not out[-1]:
        out.pop()
    return out


def is_gap(s):
    return s.strip() == '...'


def matches(shown, printed):
    """shown (with "..." lines) against every printed line; glob matching over lines"""
    p = a = 0
    star, mark = -1, 0
    while a < len(printed):
        if p < len(shown) and not is_gap(shown[p]) and shown[p] == printed[a]:
            p += 1
            a += 1
        elif p < len(shown) and is_gap(shown[p]):
            star, mark = p, a
            p += 1
        elif star >= 0:
            mark += 1
            a, p = mark, star + 1
        else:
            return False
    while p < len(shown) and is_gap(shown[p]):
        p += 1
    return p == len(shown)


def script_of(commands):
    """one sh script; each command's output between markers, its status after it"""
    parts = ['exec 2>&1', '__doc_rc=0']
    for n, c in enumerate(commands):
        # (exit): $? is the previous command's status again, for "echo $?"
        parts.append("printf '@@doc-begin %d\\n'; (exit $__doc_rc)" % n)
        parts.append(c.text)
        parts.append("__doc_rc=$?; printf '\\n@@doc-end %d %%d\\n' \"$__doc_rc\"" % n)
    return '\n'.join(parts) + '\n'


def split_output(text, count):
    """{n: (output lines, status)} of the commands that ran"""
    got = {}
    for m in re.finditer(r'@@doc-begin (\d+)\n(.*?)\n@@doc-end \1 (\d+)\n', text, re.S):
        got[int(m.group(1))] = (m.group(2).split('\n'), int(m.group(3)))
    return got


def prepare(work, source, build):
    run = os.path.join(work, 'run')
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, 'tmp'))
    os.makedirs(run)
    shutil.copytree(os.path.join(source, 'examples'), os.path.join(run, 'examples'), symlinks=True)
    os.symlink(build, os.path.join(run, 'build'))
    for name in sorted(os.listdir(source)):  # runtime/, docs/, ...: read, never written
        if not name.startswith('.') and not os.path.exists(os.path.join(run, name)):
            os.symlink(os.path.join(source, name), os.path.join(run, name))
    return run


def report(page, cmd, why, printed):
    print('%s:%d: %s\n$ %s' % (page, cmd.line, why, cmd.text))
    if cmd.shown is not None:
        print('--- the page shows:\n%s' % '\n'.join(normalize(cmd.shown)))
    print('--- the command printed:\n%s' % '\n'.join(printed[-60:]), flush=True)


def run_label(page, blocks, label, source, build, work):
    commands = [c for b in blocks if b.label == label for c in b.commands]
    if not commands:
        sys.exit('%s: no block marked %s' % (page, label))
    run = prepare(work, source, build)
    env = dict(os.environ)
    env['PATH'] = build + os.pathsep + env.get('PATH', '')
    env['TMPDIR'] = os.path.join(work, 'tmp')
    env['LC_ALL'] = 'C'
    env.pop('NNGEN_PROGRESS', None)
    with open(os.path.join(work, 'script.sh'), 'w') as f:
        f.write(script_of(commands))
    proc = subprocess.run(['sh', os.path.join(work, 'script.sh')], cwd=run, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    text = proc.stdout.decode('utf-8', 'replace')
    with open(os.path.join(work, 'output.txt'), 'w') as f:
        f.write(text)
    got = split_output(text, len(commands))
    failures = 0
    for n, cmd in enumerate(commands):
        if n not in got:
            report(page, cmd, 'did not run (the shell stopped before it)', text.split('\n'))
            return 1
        out, status = got[n]
        printed = normalize(out)
        shows_status = n + 1 < len(commands) and commands[n + 1].text.strip() == 'echo $?'
        if status != 0 and not shows_status:
            report(page, cmd, 'exited with status %d' % status, printed)
            failures += 1
        elif cmd.shown is not None and not matches(normalize(cmd.shown), printed):
            report(page, cmd, 'prints other lines than the page shows', printed)
            failures += 1
    compared = sum(1 for c in commands if c.shown is not None)
    print('%s (%s): %d commands run, %d outputs compared, %d failed'
          % (page, label, len(commands), compared, failures))
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('page')
    ap.add_argument('--list', action='store_true')
    ap.add_argument('--source')
    ap.add_argument('--build')
    ap.add_argument('--work')
    ap.add_argument('--label', default='run', choices=LABELS)
    args = ap.parse_args()
    blocks = parse(args.page)
    if args.list:
        for label in LABELS:
            if any(b.label == label for b in blocks):
                print(label)
        return 0
    if not (args.source and args.build and args.work):
        ap.error('--source, --build and --work are needed to run a page')
    return run_label(args.page, blocks, args.label, os.path.abspath(args.source),
                     os.path.abspath(args.build), os.path.abspath(args.work))


if __name__ == '__main__':
    sys.exit(main())
