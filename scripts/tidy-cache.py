#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The key behind scripts/tidy.sh's .tidy-cache, and the cache's upkeep.

  tidy-cache.py keys CLANG_TIDY JOBS <jobs      "DB FILE" lines in, "KEY DB FILE" lines out
  tidy-cache.py misses CACHE <keys              the "DB FILE" lines whose key CACHE lacks
  tidy-cache.py record CACHE WHOLE FAILED <keys CACHE gets every key but FAILED's files'

A key is SHA-256 of clang-tidy's version, .clang-tidy, the checks tidy.sh adds for the file,
the file's compile command without its output paths, and the preprocessed file (clang -E -P -C:
every included header, comments kept). A key that cannot be made is "-": never a hit.
"""
import concurrent.futures
import hashlib
import json
import os
import shlex
import subprocess
import sys

DROP_WITH_VALUE = {"-o", "-MQ", "-MF", "-MT"}
DROP = {"-c", "-MD", "-MMD", "-fdiagnostics-color=always"}


def entries(db):
    """file (relative to the repo) -> (directory, arguments) of a compile database."""
    out = {}
    for e in json.load(open(db)):
        args = e.get("arguments") or shlex.split(e["command"])
        f = os.path.relpath(os.path.normpath(os.path.join(e["directory"], e["file"])))
        out.setdefault(f, (e["directory"], args))
    return out


def command_key(args):
    kept, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
        elif a in DROP_WITH_VALUE:
            skip = True
        elif a not in DROP:
            kept.append(a)
    return kept


def key_of(tool_id, db_entry, f):
    directory, args = db_entry
    flags = command_key(args)
    src = [a for a in flags if a.endswith(".c")]
    pre = ["clang", "-E", "-P", "-C", "-w", "-Wno-unknown-warning-option"] + [
        a for a in flags if not a.endswith(".c") and a != "-Werror"] + src
    try:
        p = subprocess.run(pre, cwd=directory, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "-"
    if p.returncode != 0:
        return "-"
    h = hashlib.sha256()
    extra = "no-analyzer" if f.endswith("_test.c") else ""
    for part in (tool_id, extra, "\0".join(flags)):
        h.update(part.encode() + b"\0")
    h.update(p.stdout)
    return h.hexdigest()


def keys(tidy, jobs):
    tool = subprocess.run([tidy, "--version"], capture_output=True, text=True).stdout
    try:
        tool += open(".clang-tidy").read()
    except OSError:
        pass
    lines = [l.split() for l in sys.stdin if l.strip()]
    dbs = {}
    for db, _ in lines:
        if db not in dbs:
            dbs[db] = entries(os.path.join(db, "compile_commands.json"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, int(jobs))) as ex:
        futs = [ex.submit(key_of, tool, dbs[db][f], f) if f in dbs[db] else None
                for db, f in lines]
        for (db, f), fut in zip(lines, futs):
            print(fut.result() if fut else "-", db, f)


def load(cache):
    try:
        return dict(l.split()[::-1] for l in open(cache) if len(l.split()) == 2)
    except OSError:
        return {}


def misses(cache):
    have = load(cache)
    for l in sys.stdin:
        k, db, f = l.split()
        if k == "-" or have.get(f) != k:
            print(db, f)


def record(cache, whole, failed):
    have = {} if whole == "true" else load(cache)
    try:
        bad = {l.strip() for l in open(failed)}
    except OSError:
        bad = set()
    for l in sys.stdin:
        k, _, f = l.split()
        if k != "-" and f not in bad:
            have[f] = k
        else:
            have.pop(f, None)
    with open(cache + ".new", "w") as out:
        for f in sorted(have):
            out.write(f"{have[f]} {f}\n")
    os.replace(cache + ".new", cache)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "keys" and len(sys.argv) == 4:
        keys(sys.argv[2], sys.argv[3])
    elif cmd == "misses" and len(sys.argv) == 3:
        misses(sys.argv[2])
    elif cmd == "record" and len(sys.argv) == 5:
        record(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
