#!/usr/bin/env python3
"""Count the public items of library crates, from rustdoc JSON.

    scripts/public-items.py kreplicate-wire kreplicate-codec     # builds the JSON, then counts
    scripts/public-items.py --no-build kreplicate-wire           # counts target/doc/*.json as is
    scripts/public-items.py --list kreplicate-codec              # also prints every counted path

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
"""

import argparse
import collections
import json
import os
import subprocess
import sys

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("crates", nargs="+", help="package names, e.g. kreplicate-wire")
    ap.add_argument("--no-build", action="store_true", help="use the JSON already in target/doc")
    ap.add_argument("--list", action="store_true", help="print every counted item")
    ap.add_argument("--features", default="", help="cargo features to add to the defaults")
    args = ap.parse_args()

    target = os.environ.get("CARGO_TARGET_DIR", "target")
    for crate in args.crates:
        if not args.no_build:
            subprocess.run(
                ["cargo", "+nightly", "rustdoc", "-q", "-p", crate, "--lib"]
                + (["--features", args.features] if args.features else [])
                + ["--", "-Z", "unstable-options", "--output-format", "json"],
                check=True,
            )
        path = os.path.join(target, "doc", crate.replace("-", "_") + ".json")
        with open(path) as f:
            doc = json.load(f)
        total, kinds, paths = count(doc)
        detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
        named = total - kinds["struct_field"] - kinds["variant"]
        print(f"{crate}: {total} public items, {named} without fields and variants ({detail})")
        if args.list:
            for p in paths:
                print(f"  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
