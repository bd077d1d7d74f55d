#!/usr/bin/python3
# dkimpy (Debian's python3-dkim) for the DKIM tests: signs stdin, or verifies it against key
# records given in a file ("name<TAB>record" lines), so no DNS is needed.
#   dkimpy_tool.py sign KEYFILE SELECTOR DOMAIN CANON ALG [length]  < msg > signed msg
#   dkimpy_tool.py verify RECORDS < msg      prints pass or fail
import sys

import dkim


def main():
    cmd = sys.argv[1]
    msg = sys.stdin.buffer.read()
    if cmd == "sign":
        keyfile, selector, domain, canon, alg = sys.argv[2:7]
        length = len(sys.argv) > 7 and sys.argv[7] == "length"
        key = open(keyfile, "rb").read()
        sig = dkim.sign(msg, selector.encode(), domain.encode(), key,
                        canonicalize=tuple(c.encode() for c in canon.split("/")),
                        signature_algorithm=alg.encode(), length=length)
        sys.stdout.buffer.write(sig + msg)
        return 0
    records = {}
    for line in open(sys.argv[2]):
        name, _, value = line.rstrip("\n").partition("\t")
        records[name.lower().rstrip(".")] = value.encode()

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return records.get(name.lower().rstrip("."))

    ok = dkim.verify(msg, dnsfunc=dnsfunc)
    print("pass" if ok else "fail")
    return 0 if ok else 1


sys.exit(main())
