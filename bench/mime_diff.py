#!/usr/bin/env python3
"""Differential test of Farside's MIME parser against Python's standard `email` package.

For every file under the given directories, parses it with email (policy=default) and with
`farside parse --json`, and compares the part count, the content type of every part (depth
first, containers included), the file names of the parts that have one, and the decoded
Subject. Prints each disagreement and a summary; exits 1 when agreement is below --min.

usage: bench/mime_diff.py [--farside build/bin/farside] [--min 98] [--quiet] DIR...
(the corpus is not part of the project: e.g. bench/mime_diff.py ../shared/corpus)
"""
import argparse
import collections
import email
import email.policy
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def python_view(data):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    parts = list(msg.walk())
    subject = msg.get('subject')
    return {
        'count': len(parts),
        'types': [p.get_content_type() for p in parts],
        'filenames': [p.get_filename() for p in parts if p.get_filename() is not None],
        'subject': '' if subject is None else str(subject),
    }


def farside_view(farside, path):
    out = subprocess.run([farside, 'parse', '--json', path], capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode(errors='replace').strip())
    j = json.loads(out.stdout)
    return {
        'count': len(j['parts']),
        'types': [p['content_type'] for p in j['parts']],
        'filenames': [p['filename'] for p in j['parts'] if p['filename'] is not None],
        'subject': j['subject'],
    }


def norm_subject(s):
    # Python keeps undecodable bytes as U+FFFD or surrogates; Farside as U+FFFD. Compare the
    # text around them, and white space as runs (folding).
    s = ''.join('\ufffd' if 0xDC80 <= ord(c) <= 0xDCFF else c for c in s)
    return ' '.join(s.split())


def compare(py, fs):
    kinds = []
    if py['count'] != fs['count']:
        kinds.append('part count')
    elif py['types'] != fs['types']:
        kinds.append('content types')
    if py['filenames'] != fs['filenames']:
        kinds.append('file names')
    if norm_subject(py['subject']) != norm_subject(fs['subject']):
        kinds.append('subject')
    return kinds


def files_under(dirs):
    for d in dirs:
        for root, _, names in os.walk(d):
            for n in sorted(names):
                if n.endswith(('.md', '.tsv')) or n.startswith('.'):
                    continue
                yield os.path.join(root, n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--farside', default='build/bin/farside')
    ap.add_argument('--min', type=float, default=98.0, help='agreement needed, percent')
    ap.add_argument('--quiet', action='store_true', help='summary only')
    ap.add_argument('dirs', nargs='+')
    args = ap.parse_args()
    for d in args.dirs:
        if not os.path.isdir(d):
            sys.exit(f'mime_diff: {d} is not a directory (the corpus lives in ../shared/corpus)')
    paths = sorted(files_under(args.dirs))

    def one(path):
        with open(path, 'rb') as f:
            data = f.read()
        try:
            py = python_view(data)
        except Exception as e:  # Python's parser failing is a finding, not a crash of ours
            py = {'error': f'{type(e).__name__}: {e}'}
        try:
            fs = farside_view(args.farside, path)
        except Exception as e:
            fs = {'error': str(e)}
        return path, py, fs

    by_kind = collections.Counter()
    agree = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for path, py, fs in pool.map(one, paths):
            if 'error' in fs:
                kinds = ['farside error']
            elif 'error' in py:
                kinds = ['python error']
            else:
                kinds = compare(py, fs)
            if not kinds:
                agree += 1
                continue
            by_kind.update(kinds)
            if not args.quiet:
                print(f'DISAGREE {path}: {", ".join(kinds)}')
                for k in ('count', 'types', 'filenames', 'subject'):
                    if k in py and k in fs and py[k] != fs[k]:
                        print(f'    {k}: python={py[k]!r}')
                        print(f'    {k}: farside={fs[k]!r}')
                for side, v in (('python', py), ('farside', fs)):
                    if 'error' in v:
                        print(f'    {side} error: {v["error"]}')
    total = len(paths)
    pct = 100.0 * agree / total if total else 0.0
    print(f'messages: {total}  agree: {agree}  ({pct:.2f}%)  need: {args.min:.2f}%')
    for kind, n in by_kind.most_common():
        print(f'  {kind}: {n}')
    sys.exit(0 if pct >= args.min else 1)


if __name__ == '__main__':
    main()
