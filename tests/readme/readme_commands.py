#!/usr/bin/env python3
"""Prints the commands of a Markdown file's ```sh blocks, for
readme_commands_test.sh.

  tests/readme/readme_commands.py README.md

One record a command, each ended by a NUL byte: the line number where the
command starts, a tab, the command as written (continuation lines joined
with their backslash-newlines kept, so that the shell reads it as the
reader does), a tab, and the command without its comment and with runs of
blanks made one (the key tests/readme/skipped.txt names it by). Blank lines
and whole-line comments are left out. Exits 1 naming the line on an
unclosed fence or a continuation at the end of a block.
"""
import sys


def strip_comment(text):
    """text up to an unquoted '#' that starts a word, blanks squeezed."""
    quote = None
    prev = ' '
    escaped = False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == '\\' and quote != "'":
            escaped = True
        elif quote:
            if c == quote:
                quote = None
        elif c in '\'"':
            quote = c
        elif c == '#' and prev in ' \t':
            text = text[:i]
            break
        prev = c
    return ' '.join(text.replace('\\\n', ' ').split())


def main():
    path = sys.argv[1]
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    out = sys.stdout.buffer
    in_block = False
    command, start = [], 0
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not in_block:
            if stripped == '```sh':
                in_block, block_start = True, number
            continue
        if stripped == '```':
            if command:
                sys.exit(f'{path}:{start}: a continuation runs into the end of the block')
            in_block = False
            continue
        if not command and (not stripped or stripped.startswith('#')):
            continue
        if not command:
            start = number
        command.append(line)
        if line.endswith('\\'):
            continue
        text = '\n'.join(command)
        key = strip_comment(text)
        out.write(f'{start}\t{text}\t{key}\0'.encode())
        command = []
    if in_block:
        sys.exit(f'{path}:{block_start}: a ```sh block that is never closed')


if __name__ == '__main__':
    main()
