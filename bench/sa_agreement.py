#!/usr/bin/env python3
"""Rule-by-rule agreement between Farside (SpamAssassin's rules imported) and SpamAssassin.

Picks N labelled messages of a corpus (a fixed shuffle: sorted by the SHA-256 of their
paths), scans them with SpamAssassin (`spamassassin -t -L --mbox`: local tests only, Bayes
off) and with Farside's scanner pipeline (`build/bench/scan_bench --no-default-rules
--spamassassin DIR --hits`), and compares which rules hit each message.

The rules compared are those SpamAssassin can report: defined in the .cf files, not a
sub-rule ("__"), with a non-zero score in score set 0 (a zero score disables a rule).
Agreement is given over every (message, rule) pair, and over the pairs where either side
hit (the stricter figure); both for all those rules and for the ones Farside imported.

usage: bench/sa_agreement.py CORPUS [--n 600] [--rules /usr/share/spamassassin]
                             [--build build] [--work DIR] [--top 25]
Needs spamassassin (Debian's 4.0.1) and a built scan_bench. Standard library only.
"""
import argparse
import collections
import glob
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile

RULE_TYPES = ("header", "body", "rawbody", "uri", "full", "meta", "mimeheader", "uri_detail")


def labelled_messages(corpus):
    files = []
    for path in glob.glob(os.path.join(corpus, "*", "*", "*")):
        parts = path.split(os.sep)
        if parts[-2] in ("ham", "spam") and os.path.isfile(path):
            files.append(path)
    rel = lambda p: os.path.relpath(p, corpus)
    return sorted(files, key=lambda p: hashlib.sha256(rel(p).encode()).hexdigest())


def strip_envelope(data):
    """Drops a leading mbox "From " line, so both engines read the same message."""
    if data.startswith(b"From "):
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    return data


def sa_reportable_rules(rules_dir):
    """Names SpamAssassin can list in tests=: defined, not "__", score set 0 not zero."""
    defined, scores = set(), {}
    for cf in sorted(glob.glob(os.path.join(rules_dir, "*.cf"))):
        with open(cf, "rb") as f:
            for raw in f:
                line = raw.decode("latin-1").split("#", 1)[0].strip()
                words = line.split()
                if len(words) < 2:
                    continue
                if words[0] in RULE_TYPES:
                    defined.add(words[1])
                elif words[0] == "score" and len(words) >= 3:
                    try:
                        scores[words[1]] = float(words[2])
                    except ValueError:
                        pass
    out = set()
    for name in defined:
        if name.startswith("__"):
            continue
        default = 0.01 if name.startswith("T_") else 1.0
        if scores.get(name, default) != 0:
            out.add(name)
    return out


def run_spamassassin(paths, mbox, out_path):
    with open(mbox, "wb") as o:
        for i, p in enumerate(paths):
            with open(p, "rb") as f:
                data = f.read()
            # The index rides in the envelope line: SpamAssassin's output may come in another order.
            o.write(b"From farside-agreement-%d@localhost Thu Jan  1 00:00:00 2004\n" % i)
            for line in data.split(b"\n"):
                if re.match(rb"^>*From ", line):
                    line = b">" + line  # mboxrd quoting, undone by SpamAssassin's reader
                o.write(line + b"\n")
            o.write(b"\n")
    cmd = ["spamassassin", "-t", "-L", "--mbox", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0"]
    with open(mbox, "rb") as i, open(out_path, "wb") as o:
        subprocess.run(cmd, stdin=i, stdout=o, stderr=subprocess.DEVNULL, check=True, timeout=3600)
    hits = [None] * len(paths)
    with open(out_path, "rb") as f:
        text = f.read().decode("latin-1")
    pieces = re.split(r"(?m)^From farside-agreement-(\d+)@localhost .*\n", text)[1:]
    for index, msg in zip(pieces[0::2], pieces[1::2]):
        header = msg.split("\n\n", 1)[0]
        m = re.search(r"(?ms)^X-Spam-Status:.*?tests=(.*?)(?:\s+autolearn=|\s+version=|\n\S)", header)
        tests = set()
        if m:
            for t in re.split(r"[,\s]+", m.group(1)):
                if t and t != "none":
                    tests.add(t)
        hits[int(index)] = tests
    if any(h is None for h in hits):
        sys.exit(f"sa_agreement: SpamAssassin returned {sum(h is not None for h in hits)} "
                 f"messages for {len(paths)}")
    return hits


def run_farside(build, rules_dir, list_path, out_path, count):
    cmd = [os.path.join(build, "bench", "scan_bench"), "--no-default-rules", "--rounds", "1",
           "--spamassassin", rules_dir, "--hits", out_path, "@" + list_path]
    subprocess.run(cmd, check=True, timeout=3600, stdout=subprocess.DEVNULL)
    hits = []
    with open(out_path) as f:
        for line in f:
            hits.append(set(json.loads(line)["symbols"]))
    if len(hits) != count:
        sys.exit(f"sa_agreement: scan_bench returned {len(hits)} messages for {count}")
    return hits


def imported_rules(build, rules_dir):
    """Rules Farside loads from rules_dir: all defined minus those it reports skipped."""
    cmd = [os.path.join(build, "bin", "farside"), "rules", "import", rules_dir, "--verbose"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    return {m.group(1) for m in re.finditer(r"(?m)^skipped (\S+) ", out)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--rules", default="/usr/share/spamassassin")
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--work", default=None)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    if not os.path.isdir(args.corpus):
        sys.exit(f"sa_agreement: no corpus at {args.corpus} (it lives in ../shared/corpus)")
    work = args.work or tempfile.mkdtemp(prefix="sa_agreement.")
    os.makedirs(os.path.join(work, "msgs"), exist_ok=True)

    chosen = labelled_messages(args.corpus)[: args.n]
    paths = []
    for i, src in enumerate(chosen):
        with open(src, "rb") as f:
            data = strip_envelope(f.read())
        dst = os.path.join(work, "msgs", f"{i:05d}.eml")
        with open(dst, "wb") as f:
            f.write(data)
        paths.append(dst)
    list_path = os.path.join(work, "messages.lst")
    with open(list_path, "w") as f:
        f.write("\n".join(paths) + "\n")

    reportable = sa_reportable_rules(args.rules)
    skipped = imported_rules(args.build, args.rules)
    ours = reportable - skipped
    def child_cpu():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    c0 = child_cpu()
    sa = run_spamassassin(paths, os.path.join(work, "in.mbox"), os.path.join(work, "sa.out"))
    c1 = child_cpu()
    fs = run_farside(args.build, args.rules, list_path, os.path.join(work, "farside.jsonl"), len(paths))
    c2 = child_cpu()

    def compare(universe):
        agree = active = active_agree = 0
        dis = collections.Counter()
        sa_only, fs_only = collections.Counter(), collections.Counter()
        for s, f in zip(sa, fs):
            s, f = s & universe, f & universe
            both = s | f
            active += len(both)
            active_agree += len(s & f)
            for r in s - f:
                sa_only[r] += 1
                dis[r] += 1
            for r in f - s:
                fs_only[r] += 1
                dis[r] += 1
        pairs = len(paths) * len(universe)
        agree = pairs - sum(dis.values())
        return pairs, agree, active, active_agree, dis, sa_only, fs_only

    print(f"messages: {len(paths)} (of {args.corpus}; files in {work})")
    print(f"rules SpamAssassin can report: {len(reportable)}; of them imported by Farside: {len(ours)}")
    # CPU time of each engine's process (start-up and rule loading included).
    print(f"CPU: SpamAssassin {c1 - c0:.1f} s ({len(paths) / max(c1 - c0, 1e-9):.1f} msg/s), "
          f"Farside {c2 - c1:.1f} s ({len(paths) / max(c2 - c1, 1e-9):.1f} msg/s)")
    for title, universe in (("all reportable rules", reportable), ("rules Farside imported", ours)):
        pairs, agree, active, active_agree, dis, sa_only, fs_only = compare(universe)
        print(f"\n{title} ({len(universe)}):")
        print(f"  (message, rule) pairs: {pairs}, agree: {agree} = {100.0 * agree / max(pairs, 1):.2f}%")
        print(f"  pairs where either hit: {active}, both hit: {active_agree} = "
              f"{100.0 * active_agree / max(active, 1):.2f}%")
    pairs, agree, active, active_agree, dis, sa_only, fs_only = compare(reportable)
    print(f"\nrules that disagree most (messages where only SpamAssassin / only Farside hit):")
    for rule, n in dis.most_common(args.top):
        tag = "" if rule in ours else "  (not imported)"
        print(f"  {rule:32s} {n:5d}   SA only {sa_only[rule]:5d}   Farside only {fs_only[rule]:5d}{tag}")


if __name__ == "__main__":
    main()
