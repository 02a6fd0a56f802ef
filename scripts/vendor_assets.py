"""Vendor the JavaScript, CSS, fonts and images of Territory's folium maps.

folium links Leaflet, its plugins, jQuery, Bootstrap, Font Awesome and d3 from
public CDNs. Territory serves them itself (``territory/render/assets.py``), so this
script writes pinned copies into ``territory/static/vendor/``:

* npm packages are fetched with the ordinary client (``npm pack``) from the
  npm registry; the tarball's sha512 is checked against the integrity pinned
  below before anything is extracted;
* ``leaflet_heat.min.js`` is copied from the installed folium wheel (folium
  patches Leaflet.heat and links that patched file), checked by sha256;
* two small derived files are written: the Glyphicons subset of Bootstrap 3
  (the awesome-markers default icons) and folium's ``fa-rotate-N`` classes.

Only the files a browser needs are kept (minified code, woff2 fonts, the
images the CSS references) plus each package's licence. The script records
every package (version, integrity, licence) and every file (sha256, size,
the CDN URLs it replaces) in ``manifest.json`` and writes ``README.md``.

Usage::

    uv run python scripts/vendor_assets.py            # rewrite the vendor tree
    uv run python scripts/vendor_assets.py --dry-run  # fetch and check only

Adding a plugin: add a :class:`Package` below with the files it needs and the
CDN URLs they replace, run the script, commit ``territory/static/vendor``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "territory" / "static" / "vendor"

#: Every file written must be one of these (what browsers fetch, plus licences).
ALLOWED_SUFFIXES = {".js", ".css", ".png", ".svg", ".woff2", ".txt", ""}


# --------------------------------------------------------------------------
# transforms (bytes -> bytes) applied to files on their way into the tree
# --------------------------------------------------------------------------
def strip_source_map(data: bytes) -> bytes:
    """Drop ``sourceMappingURL`` comments: the maps are not vendored."""
    text = data.decode("utf-8")
    text = re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "\n", text)
    text = re.sub(r"/\*# sourceMappingURL=\S+ \*/\s*$", "\n", text)
    if "sourceMappingURL" in text:
        raise SystemExit("a sourceMappingURL comment survived stripping")
    return text.encode("utf-8")


def woff2_only(data: bytes) -> bytes:
    """Keep only the woff2 source of each Font Awesome ``@font-face``.

    Every browser Territory supports reads woff2; the ttf fallbacks would
    double the size of the tree.
    """
    text = strip_source_map(data).decode("utf-8")
    text, n = re.subn(r',url\(\.\./webfonts/[\w.-]+\.ttf\) format\("truetype"\)', "", text)
    if n == 0 or ".ttf" in text:
        raise SystemExit("Font Awesome CSS did not have the expected ttf fallbacks")
    return text.encode("utf-8")


def _top_level_blocks(css: str) -> list[tuple[str, str]]:
    """Split a stylesheet into ``(prelude, body)`` pairs of top-level blocks."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    blocks: list[tuple[str, str]] = []
    depth, start, prelude = 0, 0, ""
    for i, ch in enumerate(css):
        if ch == "{":
            if depth == 0:
                prelude, start = css[start:i].strip(), i + 1
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                blocks.append((prelude, css[start:i].strip()))
                start = i + 1
    return blocks


GLYPHICONS_HEADER = """/*!
 * Glyphicons Halflings subset of Bootstrap v3.4.1 (https://getbootstrap.com/)
 * Copyright 2011-2019 Twitter, Inc.
 * Licensed under the MIT license (see LICENSE beside this file).
 * Extracted by Territory's scripts/vendor_assets.py: the @font-face (woff2
 * only) and the .glyphicon rules, used by folium's default marker icons.
 */
"""


def glyphicons_subset(data: bytes) -> bytes:
    """Extract the Glyphicons font face and ``.glyphicon*`` rules from Bootstrap 3."""
    out = [GLYPHICONS_HEADER]
    faces = 0
    for prelude, body in _top_level_blocks(data.decode("utf-8")):
        declarations = re.sub(r"\s+", " ", body).strip()
        if prelude == "@font-face" and "Glyphicons Halflings" in body:
            faces += 1
            out.append(
                '@font-face{font-family:"Glyphicons Halflings";'
                'src:url(fonts/glyphicons-halflings-regular.woff2) format("woff2")}\n'
            )
            continue
        selectors = [s.strip() for s in prelude.split(",")]
        if selectors and all(s.startswith(".glyphicon") for s in selectors):
            out.append(f"{','.join(selectors)}{{{declarations}}}\n")
    if faces != 1 or len(out) < 200:
        raise SystemExit("Bootstrap 3 CSS did not have the expected Glyphicons rules")
    return "".join(out).encode("utf-8")


ROTATE_HEADER = """/* fa-rotate-N classes (N = 0..360) that folium.Icon(angle=N) sets on the
 * awesome-markers icon. Generated by Territory's scripts/vendor_assets.py in
 * place of folium's leaflet.awesome.rotate.min.css. MIT licence (Territory). */
"""


def rotate_css() -> bytes:
    """Generate the ``fa-rotate-N`` rules folium's ``Icon(angle=...)`` relies on."""
    rules = "".join(f".fa-rotate-{n}{{transform:rotate({n}deg)}}\n" for n in range(361))
    return (ROTATE_HEADER + rules).encode("utf-8")


# --------------------------------------------------------------------------
# the pinned packages
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class File:
    """One vendored file: where it comes from and which CDN URLs it replaces."""

    dest: str
    src: str | None = None
    transform: Callable[[bytes], bytes] | None = None
    generate: Callable[[], bytes] | None = None
    replaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class Package:
    """A pinned source of vendored files."""

    name: str
    version: str
    dir: str
    license: str
    files: tuple[File, ...]
    source: str = "npm"  # npm | folium | generated
    integrity: str | None = None  # npm: the registry's dist.integrity (sha512)
    sha256: dict[str, str] = field(default_factory=dict)  # folium: sha256 of each source file


JSD = "https://cdn.jsdelivr.net"
CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"

PACKAGES: tuple[Package, ...] = (
    Package(
        name="leaflet",
        version="1.9.3",
        dir="leaflet-1.9.3",
        license="BSD-2-Clause",
        integrity="sha512-iB2cR9vAkDOu5l3HAay2obcUHZ7xwUBBjph8+PGtmW/2lYhbLizWtG7nTeYht36WfOslixQF9D/uSIzhZgGMfQ==",
        files=(
            File(
                "leaflet.js",
                "package/dist/leaflet.js",
                strip_source_map,
                replaces=(f"{JSD}/npm/leaflet@1.9.3/dist/leaflet.js",),
            ),
            File(
                "leaflet.css",
                "package/dist/leaflet.css",
                replaces=(f"{JSD}/npm/leaflet@1.9.3/dist/leaflet.css",),
            ),
            *(
                File(f"images/{n}", f"package/dist/images/{n}")
                for n in (
                    "layers.png",
                    "layers-2x.png",
                    "marker-icon.png",
                    "marker-icon-2x.png",
                    "marker-shadow.png",
                )
            ),
            File("LICENSE", "package/LICENSE"),
        ),
    ),
    Package(
        name="jquery",
        version="3.7.1",
        dir="jquery-3.7.1",
        license="MIT",
        integrity="sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
        files=(
            File(
                "jquery.min.js",
                "package/dist/jquery.min.js",
                replaces=(
                    "https://code.jquery.com/jquery-3.7.1.min.js",
                    f"{CDNJS}/jquery/3.7.1/jquery.min.js",
                ),
            ),
            File("LICENSE.txt", "package/LICENSE.txt"),
        ),
    ),
    Package(
        name="bootstrap",
        version="5.2.2",
        dir="bootstrap-5.2.2",
        license="MIT",
        integrity="sha512-dEtzMTV71n6Fhmbg4fYJzQsw1N29hJKO1js5ackCgIpDcGid2ETMGC6zwSYw09v05Y+oRdQ9loC54zB1La3hHQ==",
        files=(
            File(
                "bootstrap.bundle.min.js",
                "package/dist/js/bootstrap.bundle.min.js",
                strip_source_map,
                replaces=(f"{JSD}/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js",),
            ),
            File(
                "bootstrap.min.css",
                "package/dist/css/bootstrap.min.css",
                strip_source_map,
                replaces=(f"{JSD}/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css",),
            ),
            File("LICENSE", "package/LICENSE"),
        ),
    ),
    Package(
        name="bootstrap",
        version="3.4.1",
        dir="glyphicons-bootstrap-3.4.1",
        license="MIT",
        integrity="sha512-yN5oZVmRCwe5aKwzRj6736nSmKDX7pLYwsXiCj/EYmo16hODaBiT4En5btW/jhBF/seV+XMx3aYwukYC3A49DA==",
        files=(
            File(
                "glyphicons.min.css",
                "package/dist/css/bootstrap.css",
                glyphicons_subset,
                replaces=(
                    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
                ),
            ),
            File(
                "fonts/glyphicons-halflings-regular.woff2",
                "package/dist/fonts/glyphicons-halflings-regular.woff2",
            ),
            File("LICENSE", "package/LICENSE"),
        ),
    ),
    Package(
        name="@fortawesome/fontawesome-free",
        version="6.2.0",
        dir="fontawesome-free-6.2.0",
        license="CC-BY-4.0 (icons) AND OFL-1.1 (fonts) AND MIT (code)",
        integrity="sha512-CNR7qRIfCwWHNN7FnKUniva94edPdyQzil/zCwk3v6k4R6rR2Fr8i4s3PM7n/lyfPA6Zfko9z5WDzFxG9SW1uQ==",
        files=(
            File(
                "css/all.min.css",
                "package/css/all.min.css",
                woff2_only,
                replaces=(f"{JSD}/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css",),
            ),
            *(
                File(f"webfonts/{n}.woff2", f"package/webfonts/{n}.woff2")
                for n in ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")
            ),
            File("LICENSE.txt", "package/LICENSE.txt"),
        ),
    ),
    Package(
        name="leaflet.awesome-markers",
        version="2.0.5",
        dir="leaflet.awesome-markers-2.0.5",
        license="MIT",
        integrity="sha512-Ne/xDjkGyaujwNVVkv2tyXQUV0ZW7gZ0Mo0FuQY4jp2qWrvXi0hwDBvmZyF/8YOvybyMabTMM/mFWCTd1jZIQA==",
        files=(
            File(
                "leaflet.awesome-markers.min.js",
                "package/dist/leaflet.awesome-markers.min.js",
                replaces=(f"{CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",),
            ),
            File(
                "leaflet.awesome-markers.css",
                "package/dist/leaflet.awesome-markers.css",
                replaces=(f"{CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",),
            ),
            *(
                File(f"images/{n}", f"package/dist/images/{n}")
                for n in (
                    "markers-soft.png",
                    "markers-soft@2x.png",
                    "markers-shadow.png",
                    "markers-shadow@2x.png",
                )
            ),
            File("LICENSE", "package/LICENSE"),
        ),
    ),
    Package(
        name="d3",
        version="3.5.5",
        dir="d3-3.5.5",
        license="BSD-3-Clause",
        integrity="sha512-JPx0wEFxcYVcCZXgUbsy8NzVzD3zKat1KLtdCeOHPsmrpFlc09nr2/5Ls9ey7mo8SV6cWew0piLrmPVybj9I8w==",
        files=(
            File(
                "d3.min.js",
                "package/d3.min.js",
                replaces=(f"{CDNJS}/d3/3.5.5/d3.min.js",),
            ),
            File("LICENSE", "package/LICENSE"),
        ),
    ),
    Package(
        name="leaflet.heat",
        version="0.2.0",
        dir="leaflet.heat-0.2.0",
        license="BSD-2-Clause",
        integrity="sha512-Cd5PbAA/rX3X3XKxfDoUGi9qp78FyhWYurFg3nsfhntcM/MCNK08pRkf4iEenO1KNqwVPKCmkyktjW3UD+h9bQ==",
        # Only the licence: folium links its own patched build (next package).
        files=(File("LICENSE", "package/LICENSE"),),
    ),
    Package(
        name="folium",
        version="0.20.0",
        dir="folium-0.20.0",
        license="BSD-2-Clause (Leaflet.heat, simpleheat; see leaflet.heat-0.2.0/LICENSE)",
        source="folium",
        sha256={
            "folium/templates/leaflet_heat.min.js": "7378c428ff2318ec48e7e73c0d46061f938aa75551c519c74cd790b044dfa0fa"
        },
        files=(
            File(
                "leaflet_heat.min.js",
                "folium/templates/leaflet_heat.min.js",
                replaces=(
                    f"{JSD}/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js",
                    f"{JSD}/gh/python-visualization/folium/folium/templates/leaflet_heat.min.js",
                ),
            ),
        ),
    ),
    Package(
        name="territory-generated",
        version="1",
        dir="generated",
        license="MIT (Territory)",
        source="generated",
        files=(
            File(
                "leaflet.awesome.rotate.min.css",
                generate=rotate_css,
                replaces=(
                    f"{JSD}/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
                ),
            ),
        ),
    ),
    Package(
        name="leaflet.markercluster",
        version="1.1.0",
        dir="leaflet.markercluster-1.1.0",
        license="MIT",
        integrity="sha512-eI+XkCiLiHwCC3uZ4/n4+Vq3rXcqEHN2lhHRVG1WVziy/3Q0TTipWkzEa1zO0dKZI2AnI5ppFDWrOjnQ7MJLKQ==",
        files=(
            File(
                "leaflet.markercluster.js",
                "package/dist/leaflet.markercluster.js",
                strip_source_map,
                replaces=(f"{CDNJS}/leaflet.markercluster/1.1.0/leaflet.markercluster.js",),
            ),
            File(
                "MarkerCluster.css",
                "package/dist/MarkerCluster.css",
                replaces=(f"{CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.css",),
            ),
            File(
                "MarkerCluster.Default.css",
                "package/dist/MarkerCluster.Default.css",
                replaces=(f"{CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css",),
            ),
            File("LICENSE.txt", "package/MIT-LICENCE.txt"),
        ),
    ),
    Package(
        name="leaflet.fullscreen",
        version="3.0.0",
        dir="leaflet.fullscreen-3.0.0",
        license="MIT",
        integrity="sha512-81wWSUXz1ZtdneR0v5eJDWXUSx+Zo5J50WXWeydG/UcILfIEAgz/iOjZSi3p00Z9MJ/FC/P5i3CgdYuEAos0yQ==",
        files=(
            # The package ships no minified build (the CDN minifies on the fly); 8 kB.
            File(
                "Control.FullScreen.js",
                "package/Control.FullScreen.js",
                replaces=(f"{JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js",),
            ),
            File(
                "Control.FullScreen.css",
                "package/Control.FullScreen.css",
                replaces=(f"{JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css",),
            ),
            File("icon-fullscreen.svg", "package/icon-fullscreen.svg"),
            File("LICENSE", "package/LICENSE"),
        ),
    ),
    Package(
        name="leaflet-measure",
        version="2.1.7",
        dir="leaflet-measure-2.1.7",
        license="MIT",
        integrity="sha512-IvoHIoVTIQSXUgaNnAMF17qXFB+dF5ICdwmY8BHyq/Hh33/xeGqQUUYlz0pRMzFN9NUcjsT6JBhCr1ia0CG5ug==",
        files=(
            File(
                "leaflet-measure.min.js",
                "package/dist/leaflet-measure.min.js",
                replaces=(f"{JSD}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.js",),
            ),
            File(
                "leaflet-measure.css",
                "package/dist/leaflet-measure.css",
                replaces=(f"{JSD}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.css",),
            ),
            *(
                File(f"images/{n}{s}.png", f"package/dist/images/{n}{s}.png")
                for n in ("cancel", "check", "focus", "rulers", "start", "trash")
                for s in ("", "_@2X")
            ),
            File("LICENSE", "package/LICENSE"),
        ),
    ),
)


# --------------------------------------------------------------------------
# fetching
# --------------------------------------------------------------------------
def sri_sha512(data: bytes) -> str:
    """Subresource-integrity string (as npm's ``dist.integrity``) of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def npm_tarball(pkg: Package, workdir: Path) -> bytes:
    """Fetch ``pkg`` with ``npm pack`` and return the verified tarball bytes."""
    spec = f"{pkg.name}@{pkg.version}"
    result = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(result.stdout)[0]
    data = (workdir / info["filename"]).read_bytes()
    got = sri_sha512(data)
    if got != pkg.integrity or info["integrity"] != pkg.integrity:
        raise SystemExit(f"{spec}: integrity mismatch: pinned {pkg.integrity}, tarball {got}")
    return data


def read_sources(pkg: Package, workdir: Path) -> tuple[dict[str, bytes], dict[str, object]]:
    """Return ``{source path: bytes}`` for the files of ``pkg`` and provenance info."""
    wanted = {f.src for f in pkg.files if f.src}
    if pkg.source == "npm":
        data = npm_tarball(pkg, workdir)
        out: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                if member.name in wanted and member.isfile():
                    out[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]
        # npm's own file name for the tarball; the registry is npm's configured one.
        tarball = f"{pkg.name.removeprefix('@').replace('/', '-')}-{pkg.version}.tgz"
        provenance: dict[str, object] = {
            "source": "npm",
            "spec": f"{pkg.name}@{pkg.version}",
            "tarball": tarball,
            "integrity": pkg.integrity or "",
        }
    elif pkg.source == "folium":
        installed = metadata.version("folium")
        if installed != pkg.version:
            raise SystemExit(f"folium {pkg.version} pinned, {installed} installed")
        import folium

        site = Path(folium.__file__).resolve().parents[1]
        out = {}
        for src in wanted:
            data = (site / src).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest != pkg.sha256[src]:
                raise SystemExit(f"{src}: sha256 {digest} differs from the pinned one")
            out[src] = data
        provenance = {"source": f"pypi:folium=={pkg.version}", "sha256": pkg.sha256}
    else:
        out, provenance = {}, {"source": "generated by scripts/vendor_assets.py"}
    missing = wanted - set(out)
    if missing:
        raise SystemExit(f"{pkg.name}@{pkg.version}: missing {sorted(missing)}")
    return out, provenance


# --------------------------------------------------------------------------
# checks and writing
# --------------------------------------------------------------------------
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""")


def check_css_references(files: dict[str, bytes]) -> None:
    """Every relative ``url()`` in a vendored stylesheet must be vendored too."""
    problems = []
    for rel, data in files.items():
        if not rel.endswith(".css"):
            continue
        for ref in CSS_URL.findall(data.decode("utf-8")):
            if ref.startswith(("data:", "#")):
                continue
            target = _normalise(f"{Path(rel).parent.as_posix()}/{ref.split('?')[0]}")
            if re.match(r"^[a-z]+:", ref) or target not in files:
                problems.append(f"{rel}: url({ref}) is not vendored")
    if problems:
        raise SystemExit("\n".join(problems))


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


README_HEAD = """# Vendored map assets

The JavaScript, CSS, fonts and images that Territory's folium maps need,
served by Territory itself so that maps render offline and where the public
CDNs are slow or blocked. `territory/render/assets.py` maps each CDN URL that
folium, its plugins and branca emit to a file here (`manifest.json`,
key `urls`).

**Do not edit by hand.** Everything here is written by
`scripts/vendor_assets.py` (`uv run python scripts/vendor_assets.py`), which
fetches pinned npm tarballs with `npm pack`, checks each tarball's sha512
against the integrity pinned in the script, and keeps only the files a
browser needs (minified code, woff2 fonts, referenced images) plus each
package's licence. `manifest.json` records versions, integrity and the
sha256 of every file; the test suite checks the tree against it.

## Packages and licences
Every licence below permits redistribution; each package's licence text is
kept beside its files, and the copyright headers inside the files are kept.

| directory | package | version | licence | source |
|---|---|---|---|---|
"""

README_TAIL = """
Notes
- Font Awesome Free: icons CC BY 4.0, fonts SIL OFL 1.1, code MIT; the
  attribution is the licence header kept in `css/all.min.css` and
  `LICENSE.txt`. Only the woff2 fonts are kept (the ttf fallbacks are
  removed from the CSS).
- `glyphicons-bootstrap-3.4.1/glyphicons.min.css` is the Glyphicons
  Halflings part of Bootstrap 3.4.1 (MIT, the font is included in Bootstrap
  under Bootstrap's licence); folium's default `folium.Icon()` uses it.
- `leaflet.awesome-markers`: the npm package's `package.json` says ISC, its
  `LICENSE` file (kept) is MIT; both permit redistribution. Its dist files
  are the upstream 2.0.x release folium links from cdnjs as 2.0.2.
- `folium-0.20.0/leaflet_heat.min.js` is Leaflet.heat (BSD-2-Clause, with
  simpleheat, same author and licence) as patched and shipped by folium.
- `generated/leaflet.awesome.rotate.min.css` is written by the script.
- `sourceMappingURL` comments are removed (the maps are not vendored).
"""


def write_tree(dry_run: bool) -> None:
    files: dict[str, bytes] = {}
    manifest: dict = {"generated_by": "scripts/vendor_assets.py", "packages": [], "urls": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in PACKAGES:
            sources, provenance = read_sources(pkg, Path(tmp))
            entry = {
                "name": pkg.name,
                "version": pkg.version,
                "dir": pkg.dir,
                "license": pkg.license,
                **provenance,
                "files": [],
            }
            for f in pkg.files:
                data = f.generate() if f.generate else sources[f.src]  # type: ignore[index]
                if f.transform:
                    data = f.transform(data)
                rel = f"{pkg.dir}/{f.dest}"
                if Path(rel).suffix not in ALLOWED_SUFFIXES:
                    raise SystemExit(f"{rel}: file type not allowed in the vendor tree")
                files[rel] = data
                entry["files"].append(
                    {
                        "path": rel,
                        "from": f.src or "generated",
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "bytes": len(data),
                    }
                )
                for url in f.replaces:
                    if url in manifest["urls"]:
                        raise SystemExit(f"{url} is replaced twice")
                    manifest["urls"][url] = rel
            manifest["packages"].append(entry)
    check_css_references(files)
    total = sum(len(d) for d in files.values())
    print(f"{len(files)} files, {total / 1024:.0f} KiB, {len(manifest['urls'])} CDN URLs covered")
    if dry_run:
        return
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    for rel, data in files.items():
        path = VENDOR / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    manifest["total_bytes"] = total
    (VENDOR / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    rows = "".join(
        f"| `{p['dir']}/` | {p['name']} | {p['version']} | {p['license']} | {p['source']} |\n"
        for p in manifest["packages"]
    )
    (VENDOR / "README.md").write_text(README_HEAD + rows + README_TAIL, encoding="utf-8")
    print(f"written to {VENDOR.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="fetch and check, write nothing")
    args = parser.parse_args(argv)
    write_tree(args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
