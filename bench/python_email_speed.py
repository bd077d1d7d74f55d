#!/usr/bin/env python3
"""Python's email (policy=default) on the same work as bench/mime_bench: parse each file,
walk the parts, decode every text part to str. usage: bench/python_email_speed.py DIR..."""
import email
import email.policy
import os
import sys
import time


def main():
    blobs = []
    for d in sys.argv[1:]:
        for root, _, names in os.walk(d):
            for n in names:
                if not n.endswith(('.md', '.tsv')):
                    with open(os.path.join(root, n), 'rb') as f:
                        blobs.append(f.read())
    total = sum(map(len, blobs))
    start = time.process_time()
    for b in blobs:
        msg = email.message_from_bytes(b, policy=email.policy.default)
        for part in msg.walk():
            if part.get_content_maintype() == 'text' and not part.is_multipart():
                try:
                    part.get_content()
                except Exception:
                    pass
    cpu = time.process_time() - start
    print(f'python email: {len(blobs)} messages, {total / 1e6:.1f} MB in {cpu:.2f} s CPU: '
          f'{len(blobs) / cpu:.0f} msg/s, {total / 1e6 / cpu:.1f} MB/s')


if __name__ == '__main__':
    main()
