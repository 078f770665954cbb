#!/usr/bin/python3
"""Header samples: extract the code samples of header comments into C++ that the build compiles.

A sample in a header comment (docs/architecture.md, "Samples in header comments"):

    // Example:
    // Given: std::shared_ptr<EtherConn> conn; IpAddress ip;
    //   RS_ASSIGN_OR_RETURN(auto udp, RUDPConn::Create(conn, {.local_ip = ip, .local_port = 9000}));
    //   ...
    //
  * `// Example:` on a line of its own starts it;
  * `// Given: DECL; DECL; ...` lines (optional, right after it) declare the names the sample uses
    without making them: each DECL becomes a parameter of the sample's function (a function
    DECL ending in `)`, such as `void Print(const ProbeResult& r)`, is a function the sample calls
    and is declared (never defined: the TUs are compiled, not linked) before the function instead);
    `// Given: #include <...>` adds an include the sample needs beyond its header;
  * the sample is the run of lines indented three spaces after `//` that follows; it ends at the
    first line that is not (normally a blank `//`). A line that is `...` or starts with `...` is
    skipped; `...` inside a line is not (it would not compile).
  * `// Sketch:` marks an indented block that is deliberately not compiled (an excerpt of a
    class's own members, a table); the check counts them.

Each sample becomes `absl::Status Sample_<line>(Given...) { <sample> return absl::OkStatus(); }` in
a translation unit of its own header (included first, so the header also stands alone), with
`using namespace` for every namespace the header opens and #line directives pointing at the header,
so a compile error names the header line of the sample.

  header_samples.py generate ROOT OUTDIR HEADER...   one OUTDIR/<header path with _>.cc per header
                                                     (an empty TU for a header without samples);
                                                     files are rewritten only when they change
  header_samples.py check ROOT HEADER...             fails on a sample-looking block without a
                                                     marker, a marker without a sample, or when
                                                     no header has a sample at all
"""
import os
import re
import sys

INDENT = "//   "
EXAMPLE = "// Example:"
SKETCH = "// Sketch:"
GIVEN = "// Given:"


def comment_text(line):
    """(prefix width, text from '//' on) of a comment line, or None."""
    s = line.rstrip("\n")
    stripped = s.lstrip(" ")
    if not stripped.startswith("//"):
        return None
    return len(s) - len(stripped), stripped.rstrip()


def parse(path, lines):
    """Samples, sketches and unmarked sample-looking blocks of one header."""
    samples, sketches, problems = [], [], []
    marked = set()  # line indexes that belong to a marked block
    i = 0
    while i < len(lines):
        c = comment_text(lines[i])
        if c is None or c[1] not in (EXAMPLE, SKETCH):
            i += 1
            continue
        kind, start = c[1], i
        marked.add(i)
        i += 1
        given, includes = [], []
        while i < len(lines) and (g := comment_text(lines[i])) and g[1].startswith(GIVEN):
            text = g[1][len(GIVEN):].strip()
            if text.startswith("#include"):
                includes.append(text)
            else:
                given += [d.strip() for d in text.split(";") if d.strip()]
            marked.add(i)
            i += 1
        body = []  # (1-based header line, column of the code, code)
        while i < len(lines) and (b := comment_text(lines[i])) and b[1].startswith(INDENT):
            marked.add(i)
            code = b[1][len(INDENT):]
            if not code.lstrip().startswith("..."):
                body.append((i + 1, b[0] + len(INDENT), code))
            i += 1
        if not body:
            problems.append(f"{path}:{start + 1}: '{kind}' with no indented block after it")
            continue
        if kind == EXAMPLE:
            samples.append({"line": start + 1, "given": given, "includes": includes, "body": body})
        else:
            sketches.append(start + 1)
    # Sample-looking text outside marked blocks.
    i = 0
    while i < len(lines):
        c = comment_text(lines[i])
        if i in marked or c is None:
            i += 1
            continue
        if re.search(r"RS_(ASSIGN_OR_RETURN|RETURN_IF_ERROR)\(", c[1]) and not c[1].startswith(INDENT):
            problems.append(f"{path}:{i + 1}: RS_ macro in a comment outside a marked sample")
        if c[1].startswith(INDENT):
            start = i
            block = []
            while i < len(lines) and i not in marked and (b := comment_text(lines[i])) and \
                    b[1].startswith(INDENT):
                block.append(b[1][len(INDENT):])
                i += 1
            # A block whose first line is indented further continues a bullet ("//  - ..."),
            # it is prose; a sample starts at exactly three spaces.
            # A table or a JSON description may have a line that looks like code; a sample has
            # mostly such lines.
            code_lines = sum(looks_like_code(t) for t in block)
            if not block[0].startswith(" ") and code_lines and 2 * code_lines >= len(block):
                problems.append(f"{path}:{start + 1}: indented comment block that looks like code "
                                f"without '{EXAMPLE}' or '{SKETCH}' before it")
            continue
        i += 1
    return samples, sketches, problems


def looks_like_code(text):
    """A C++ statement: starts like one and ends in ; { or } once a trailing // comment is gone."""
    code = re.sub(r"\s+//.*$", "", text).strip()
    if not code or not code.isascii():
        return False
    return bool(re.match(r"^[A-Za-z_}][\w:<>]*", code)) and code[-1] in ";{}" and \
        ("(" in code or "=" in code or code in ("{", "}", "};"))


def mangle(rel):
    return re.sub(r"[^A-Za-z0-9]", "_", rel)


def generate_tu(root, rel, lines, samples):
    out = [f"// Generated by tests/docs/header_samples.py from the comments of {rel}; do not edit.\n"]
    if not samples:
        out.append("// (no samples)\n")
        return "".join(out)
    namespaces = sorted(set(re.findall(r"^namespace ([\w:]+) \{", "".join(lines), re.M)) |
                        {"ringstamp"})
    out.append(f'#include "{rel}"\n\n')
    for inc in ("<cstdio>", "<functional>", "<memory>", "<span>", "<string>",
                '"absl/status/status.h"', '"ringstamp/common/status_macros.h"'):
        out.append(f"#include {inc}\n")
    for s in samples:
        for inc in s["includes"]:
            out.append(inc + "\n")
    out.append("\nnamespace ringstamp {}  // for a header of macros only\n")
    out.append(f"\nnamespace rs_header_samples_{mangle(rel)} {{\n")
    for ns in namespaces:
        out.append(f"using namespace {ns};\n")
    for s in samples:
        functions = [g for g in s["given"] if g.endswith(")")]
        params = ", ".join(f"[[maybe_unused]] {g}" for g in s["given"] if g not in functions)
        out.append("\n")
        for f in functions:  # declared only: the TUs are compiled, never linked
            out.append(f"{f};\n")
        out.append(f"[[maybe_unused]] absl::Status Sample_line_{s['line']}({params}) {{\n")
        for lineno, col, code in s["body"]:
            out.append(f'#line {lineno} "{os.path.join(root, rel)}"\n')
            out.append(" " * col + code + "\n")
        out.append("  return absl::OkStatus();\n}\n")
    out.append(f"\n}}  // namespace rs_header_samples_{mangle(rel)}\n")
    return "".join(out)


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.readlines()


def main(argv):
    if len(argv) < 3 or argv[1] not in ("generate", "check"):
        sys.exit(__doc__)
    mode, root = argv[1], os.path.abspath(argv[2])
    outdir = argv[3] if mode == "generate" else None
    headers = argv[4:] if mode == "generate" else argv[3:]
    n_samples = n_sketches = n_headers = 0
    problems = []
    for h in headers:
        rel = os.path.relpath(os.path.abspath(h), root)
        lines = read(root, rel)
        samples, sketches, p = parse(rel, lines)
        problems += p
        n_samples += len(samples)
        n_sketches += len(sketches)
        n_headers += bool(samples)
        if outdir:
            path = os.path.join(outdir, mangle(rel) + ".cc")
            text = generate_tu(root, rel, lines, samples)
            old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
            if old != text:
                os.makedirs(outdir, exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    for p in problems:
        print(p, file=sys.stderr)
    if n_samples == 0:
        print("no header samples found (marker: '// Example:')", file=sys.stderr)
    print(f"{n_samples} samples in {n_headers} of {len(headers)} headers, {n_sketches} sketches, "
          f"{len(problems)} problems")
    if mode == "generate":
        return 0  # the check (ctest docs_header_samples) fails on problems, not the build
    return 1 if problems or n_samples == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
