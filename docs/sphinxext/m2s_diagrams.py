"""Graphviz diagrams of the documentation, pre-rendered, so the build needs no ``dot``.

Each diagram is a DOT file under ``docs/diagrams/`` next to the SVG that
Graphviz renders from it; both are committed. A page shows one with::

    ```{dot-diagram} diagrams/m2s_data_flow.dot
    :caption: ...
    ```

(the path is relative to the page's own file). The build puts the SVG in the
page as it is (inline, so the nodes' ``URL=`` links work, relative to the
page), and reports an error (the build fails under ``-W``, as in CI and the
README's command) when the SVG is missing or was rendered from another
version of the DOT file: each SVG records the SHA-256 of its source.

After editing a DOT file, render the SVGs again (needs Graphviz's ``dot``,
e.g. ``apt-get install graphviz``)::

    python docs/sphinxext/m2s_diagrams.py
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

DIAGRAMS = Path(__file__).resolve().parent.parent / "diagrams"
_STAMP = re.compile(r"<!-- source sha256: ([0-9a-f]{64}) -->")


def source_digest(dot_path):
    """SHA-256 of a DOT file, line endings normalised."""
    text = Path(dot_path).read_bytes().replace(b"\r\n", b"\n")
    return hashlib.sha256(text).hexdigest()


def render(dot_path, dot="dot"):
    """Render ``dot_path`` to the SVG next to it, stamped with the source's digest."""
    dot_path = Path(dot_path)
    svg = subprocess.run(
        [dot, "-Tsvg", str(dot_path)], check=True, capture_output=True, text=True
    ).stdout
    stamp = f"<!-- source sha256: {source_digest(dot_path)} -->\n"
    head, sep, body = svg.partition("<svg")
    if not sep:
        raise RuntimeError(f"{dot} wrote no SVG for {dot_path}")
    svg_path = dot_path.with_suffix(".svg")
    svg_path.write_text(head + stamp + sep + body, encoding="utf-8")
    return svg_path


def inline_svg(dot_path, alt=None):
    """The SVG of ``dot_path``, ready to put in a page; raise ValueError when stale."""
    dot_path = Path(dot_path)
    svg_path = dot_path.with_suffix(".svg")
    if not svg_path.is_file():
        raise ValueError(
            f"{svg_path.name} is missing: render it from {dot_path.name} with "
            "`python docs/sphinxext/m2s_diagrams.py` (needs Graphviz's dot)"
        )
    svg = svg_path.read_text(encoding="utf-8")
    stamp = _STAMP.search(svg)
    if stamp is None or stamp.group(1) != source_digest(dot_path):
        raise ValueError(
            f"{svg_path.name} was not rendered from the current {dot_path.name}: render it "
            "again with `python docs/sphinxext/m2s_diagrams.py` (needs Graphviz's dot)"
        )
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.DOTALL)
    label = f' aria-label="{_escape(alt)}"' if alt else ""
    return svg.replace("<svg", f'<svg role="img"{label}', 1)


def _escape(text):
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def setup(app):
    from docutils import nodes
    from docutils.parsers.rst import directives
    from sphinx.util.docutils import SphinxDirective

    class DotDiagram(SphinxDirective):
        """A figure showing the pre-rendered SVG of a DOT file."""

        required_arguments = 1
        final_argument_whitespace = True
        option_spec = {
            "caption": directives.unchanged,
            "alt": directives.unchanged,
            "name": directives.unchanged,
        }

        def run(self):
            relative, dot_path = self.env.relfn2path(self.arguments[0])
            dot_path = Path(dot_path)
            if not dot_path.is_file():
                raise self.error(f"dot-diagram: no DOT file {relative}")
            try:
                svg = inline_svg(dot_path, self.options.get("alt"))
            except ValueError as err:
                raise self.error(f"dot-diagram: {err}") from None
            self.env.note_dependency(str(dot_path))
            self.env.note_dependency(str(dot_path.with_suffix(".svg")))
            figure = nodes.figure(classes=["m2s-diagram"])
            figure += nodes.raw("", f'<div class="m2s-diagram__svg">{svg}</div>', format="html")
            if "caption" in self.options:
                text_nodes, messages = self.state.inline_text(self.options["caption"], self.lineno)
                figure += nodes.caption(self.options["caption"], "", *text_nodes)
                figure += messages
            self.add_name(figure)
            return [figure]

    app.add_directive("dot-diagram", DotDiagram)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv=None):
    """Render every DOT file of ``docs/diagrams/`` (or those given) to SVG."""
    dot = shutil.which("dot")
    if dot is None:
        sys.exit("Graphviz's dot is not installed (e.g. apt-get install graphviz)")
    paths = [Path(p) for p in argv] if argv else sorted(DIAGRAMS.glob("*.dot"))
    for path in paths:
        print(f"{path} -> {render(path, dot)}")


if __name__ == "__main__":
    main(sys.argv[1:])
