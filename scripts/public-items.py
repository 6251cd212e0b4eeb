#!/usr/bin/env python3
"""Count the public items of library crates, from rustdoc JSON.

    scripts/public-items.py kreplicate-wire kreplicate-codec     # builds the JSON, then counts
    scripts/public-items.py --no-build kreplicate-wire           # counts target/doc/*.json as is
    scripts/public-items.py --list kreplicate-codec              # also prints every counted path
    scripts/public-items.py --since 64792d3 kreplicate-wire      # also: which of REV's are left

Needs a nightly toolchain (rustdoc JSON is unstable); it runs
`cargo +nightly rustdoc -p CRATE --lib -- -Z unstable-options --output-format json`.

Method: walk from the crate root the way a caller can name things, and count each item once
(by rustdoc id), whatever the number of paths that reach it:
- counted: modules, structs, enums, unions, variants, public fields (of structs and of struct
  variants), functions, traits and their items, constants, statics, type aliases, macros, and the
  public items of inherent `impl` blocks (methods, associated consts and types);
- followed, not counted: `pub use` of an item of this crate (its target is counted, once; a glob
  re-export counts what it brings in);
- counted as one item each: `pub use` of another crate's item (it is part of this crate's API);
- not counted: trait impls (derives, `From`, `Display`, blanket and auto-trait impls); private
  and `pub(crate)` items, and `pub` items in modules that are not reachable.
The second figure leaves out fields and variants (closer to a count of `pub` declarations).
Default features, unless `--features` names more (e.g. `--features test-util`).

`--since REV` also counts the crate at REV (built in a temporary worktree, target dir
target/public-items-REV) and says how many of the items public then are public now, matching
an item by kind and name (a function by its type and name, e.g. `Admin::new`), not by path,
since modules made private re-export at the root. Fields and variants are left out of it.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

COUNTED_LEAVES = {
    "function",
    "constant",
    "static",
    "type_alias",
    "macro",
    "proc_macro",
    "assoc_const",
    "assoc_type",
    "trait_alias",
}


def count(doc, list_paths=False):
    index = doc["index"]
    seen = set()
    kinds = collections.Counter()
    paths = []

    def item(id_):
        return index.get(str(id_))

    def add(it, path):
        kind = next(iter(it["inner"]))
        kinds[kind] += 1
        paths.append(f"{kind} {path}")

    def fields(ids, path):
        for fid in ids:
            f = item(fid) if fid is not None else None
            if f is None or f["visibility"] != "public":
                continue
            visit(fid, f"{path}.{f['name']}")

    def visit(id_, path):
        if id_ is None or id_ in seen:
            return
        it = item(id_)
        if it is None:
            return
        seen.add(id_)
        kind, inner = next(iter(it["inner"].items()))
        if kind == "module":
            add(it, path)
            for child in inner["items"]:
                visit_child(child, path)
        elif kind == "use":
            # Handled by visit_child (needs the module path); reached here only via a glob.
            visit_child(id_, path)
        elif kind in ("struct", "union"):
            add(it, path)
            k = inner["kind"]
            if isinstance(k, dict) and "plain" in k:
                fields(k["plain"]["fields"], path)
            elif isinstance(k, dict) and "tuple" in k:
                fields(k["tuple"], path)
            elif "fields" in inner:  # union
                fields(inner["fields"], path)
            for impl_id in inner["impls"]:
                visit_impl(impl_id, path)
        elif kind == "enum":
            add(it, path)
            for v in inner["variants"]:
                visit(v, f"{path}::{item(v)['name']}")
            for impl_id in inner["impls"]:
                visit_impl(impl_id, path)
        elif kind == "variant":
            add(it, path)
            k = inner["kind"]
            if isinstance(k, dict) and "struct" in k:
                for fid in k["struct"]["fields"]:
                    visit(fid, f"{path}.{item(fid)['name']}")
        elif kind == "trait":
            add(it, path)
            for t in inner["items"]:
                visit(t, f"{path}::{item(t)['name']}")
        elif kind == "struct_field":
            add(it, path)
        elif kind in COUNTED_LEAVES:
            add(it, path)

    def visit_impl(impl_id, path):
        impl = item(impl_id)
        if impl is None:
            return
        inner = impl["inner"]["impl"]
        if inner["trait"] is not None or inner.get("is_synthetic") or inner.get("blanket_impl"):
            return
        for m in inner["items"]:
            mi = item(m)
            if mi is not None and mi["visibility"] == "public":
                visit(m, f"{path}::{mi['name']}")

    def visit_child(child, parent):
        it = item(child)
        if it is None or it["visibility"] != "public":
            return
        if "use" not in it["inner"]:
            visit(child, f"{parent}::{it['name']}")
            return
        use = it["inner"]["use"]
        target = item(use["id"]) if use["id"] is not None else None
        if target is None or target["crate_id"] != 0:
            # Another crate's item, re-exported: part of this crate's API, counted once here.
            if child not in seen:
                seen.add(child)
                kinds["use (external)"] += 1
                paths.append(f"use (external) {parent}::{use['name']} = {use['source']}")
            return
        if use["is_glob"]:
            tkind, tinner = next(iter(target["inner"].items()))
            if tkind == "module":
                for c in tinner["items"]:
                    visit_child(c, parent)
            elif tkind == "enum":
                for v in tinner["variants"]:
                    visit(v, f"{parent}::{item(v)['name']}")
            return
        visit(use["id"], f"{parent}::{use['name']}")

    visit(doc["root"], index[str(doc["root"])]["name"])
    return sum(kinds.values()), kinds, sorted(paths)


def item_key(line):
    """`function kreplicate_wire::admin::Admin::new` -> ("function", "Admin::new")."""
    kind, _, path = line.partition(" ")
    if kind == "use":  # "use (external) a::B = c::B"
        kind, path = "use", path.split(" ")[1]
    segs = path.split("::")
    name = "::".join(segs[-2:]) if kind in ("function", "assoc_const", "assoc_type") else segs[-1]
    return kind, name


def named_keys(paths):
    return {item_key(p) for p in paths if not p.startswith(("struct_field ", "variant "))}


def rustdoc_json(crate, features, target, cwd=None):
    subprocess.run(
        ["cargo", "+nightly", "rustdoc", "-q", "-p", crate, "--lib"]
        + (["--features", features] if features else [])
        + ["--", "-Z", "unstable-options", "--output-format", "json"],
        check=True,
        cwd=cwd,
        env=dict(os.environ, CARGO_TARGET_DIR=target),
    )
    with open(os.path.join(target, "doc", crate.replace("-", "_") + ".json")) as f:
        return json.load(f)


def since(rev, crates, now_paths):
    """Counts the crates at `rev` and compares their named items with now's."""
    root = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True
    ).stdout.strip()
    target = os.path.abspath(os.path.join(root, "target", f"public-items-{rev}"))
    tree = tempfile.mkdtemp(prefix=f"public-items-{rev}-")
    subprocess.run(["git", "worktree", "add", "-q", "--detach", tree, rev], check=True)
    try:
        for crate in crates:
            try:
                _, _, then_paths = count(rustdoc_json(crate, "", target, cwd=tree))
            except subprocess.CalledProcessError:
                print(f"{crate}: not a library package at {rev}")
                continue
            then, now = named_keys(then_paths), named_keys(now_paths[crate])
            kept = then & now
            print(
                f"{crate}: {len(then)} public at {rev} (without fields and variants); "
                f"{len(kept)} of them public now ({len(kept) / max(len(then), 1):.2f}), "
                f"{len(then - now)} private or gone; {len(now - then)} public now and not then"
            )
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", tree], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("crates", nargs="+", help="package names, e.g. kreplicate-wire")
    ap.add_argument("--no-build", action="store_true", help="use the JSON already in target/doc")
    ap.add_argument("--list", action="store_true", help="print every counted item")
    ap.add_argument("--features", default="", help="cargo features to add to the defaults")
    ap.add_argument("--since", metavar="REV", help="also compare with the crates at REV")
    args = ap.parse_args()

    target = os.path.abspath(os.environ.get("CARGO_TARGET_DIR", "target"))
    now_paths = {}
    for crate in args.crates:
        if args.no_build:
            with open(os.path.join(target, "doc", crate.replace("-", "_") + ".json")) as f:
                doc = json.load(f)
        else:
            doc = rustdoc_json(crate, args.features, target)
        total, kinds, paths = count(doc)
        now_paths[crate] = paths
        detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
        named = total - kinds["struct_field"] - kinds["variant"]
        print(f"{crate}: {total} public items, {named} without fields and variants ({detail})")
        if args.list:
            for p in paths:
                print(f"  {p}")
    if args.since:
        since(args.since, args.crates, now_paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
