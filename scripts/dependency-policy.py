#!/usr/bin/env python3
"""The licence and ban checks of deny.toml (a subset of `cargo deny check licenses bans`).

Reads `cargo metadata` for every package in the resolved graph (all features, all targets) and
fails, naming each offender and what to do, when a package
  - has a licence expression that no choice of its alternatives satisfies with deny.toml's
    [licenses] allow list (SPDX: AND, OR, WITH, parentheses; the legacy "/" means OR), or no
    licence at all;
  - is listed in [bans] deny.
Packages of this workspace are checked too (their licence is the workspace's).
Duplicate versions are printed as warnings when [bans] multiple-versions = "warn".

    python3 scripts/dependency-policy.py          # from the repository root
"""
import json
import re
import subprocess
import sys
import tomllib
from collections import defaultdict

TOKEN = re.compile(r"\(|\)|[A-Za-z0-9.+\-]+")


def satisfiable(expression, allowed):
    """Whether the SPDX expression can be met using only allowed licences."""
    tokens = TOKEN.findall(expression.replace("/", " OR "))
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary():
        if peek() == "(":
            take()
            value = disjunction()
            if take() != ")":
                raise ValueError("unbalanced parentheses")
            return value
        name = take()
        if peek() == "WITH":
            take()
            exception = take()
            return f"{name} WITH {exception}" in allowed or name in allowed
        return name in allowed

    def conjunction():
        value = primary()
        while peek() == "AND":
            take()
            value = primary() and value
        return value

    def disjunction():
        value = conjunction()
        while peek() == "OR":
            take()
            value = conjunction() or value
        return value

    result = disjunction()
    if pos != len(tokens):
        raise ValueError(f"unexpected {peek()!r}")
    return result


def main():
    with open("deny.toml", "rb") as f:
        policy = tomllib.load(f)
    allowed = set(policy["licenses"]["allow"])
    bans = policy.get("bans", {})
    denied = {entry["crate"] for entry in bans.get("deny", [])}
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = metadata["packages"]
    problems = []
    versions = defaultdict(set)
    for p in packages:
        name, version, licence = p["name"], p["version"], p.get("license")
        versions[name].add(version)
        if name in denied:
            problems.append(f"{name} {version} is banned by deny.toml [bans]: remove what pulls "
                            f"it in (cargo tree -i {name}@{version})")
        if not licence:
            problems.append(f"{name} {version} declares no SPDX licence (only "
                            f"{p.get('license_file') or 'nothing'}): review it, then allow it "
                            "explicitly or drop the dependency")
            continue
        try:
            ok = satisfiable(licence, allowed)
        except (ValueError, IndexError) as e:
            problems.append(f"{name} {version}: cannot read licence '{licence}' ({e})")
            continue
        if not ok:
            problems.append(f"{name} {version} is licensed '{licence}', which deny.toml "
                            "[licenses] allow does not cover: drop the dependency, or add the "
                            "licence to the allow list after checking it is compatible")
    if bans.get("multiple-versions") == "warn":
        for name, vs in sorted(versions.items()):
            if len(vs) > 1:
                print(f"dependency-policy: warning: {name} in {len(vs)} versions: "
                      f"{', '.join(sorted(vs))}")
    for problem in problems:
        print(f"dependency-policy: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"dependency-policy: {len(packages)} packages: licences allowed, none banned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
