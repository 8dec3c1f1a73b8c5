#!/usr/bin/env python3
"""Checks that every C++ sample in the documentation is code the test suite compiles and runs.

Each ```cpp block in README.md, docs/*.md and every README.md under middleware/, examples/, bench/,
testing/ and packaging/ must appear, line for line, in a region of a source file under examples/,
middleware/, tests/, testing/ or packaging/:

    // [doc-sample NAME]
    ...the block's lines, indented as the surrounding code needs...
    // [end doc-sample]

Indentation common to a region's lines is ignored, and so is trailing white space. A region that
no document shows is reported too, so samples and documents cannot drift apart silently.

Usage: check_doc_samples.py SOURCE_ROOT. Prints one line per problem; exits 1 if there is any.
"""
import pathlib
import re
import sys
import textwrap

START = re.compile(r"^\s*// \[doc-sample ([\w.-]+)\]\s*$")
END = re.compile(r"^\s*// \[end doc-sample\]\s*$")


def normalize(lines):
    text = textwrap.dedent("\n".join(line.rstrip() for line in lines))
    return text.strip("\n")


def regions(root):
    found = {}
    problems = []
    for folder in ("examples", "middleware", "tests", "testing", "packaging"):
        for path in sorted((root / folder).rglob("*.[ch]pp")):
            name, body, start = None, [], 0
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if (m := START.match(line)):
                    name, body, start = m.group(1), [], number
                elif END.match(line) and name:
                    where = f"{path.relative_to(root)}:{start}"
                    if name in found:
                        problems.append(f"{where}: doc-sample '{name}' is also defined at {found[name][0]}")
                    found[name] = (where, normalize(body))
                    name = None
                elif name:
                    body.append(line)
            if name:
                problems.append(f"{path.relative_to(root)}:{start}: doc-sample '{name}' has no end line")
    return found, problems


def blocks(path):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```cpp":
            start = i + 1
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                i += 1
            yield start, normalize(lines[start:i])
        i += 1


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    samples, problems = regions(root)
    by_text = {text: name for name, (_, text) in samples.items()}
    used = set()
    documents = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    for folder in ("middleware", "examples", "bench", "testing", "packaging"):
        documents += sorted((root / folder).rglob("README.md"))
    checked = 0
    for doc in documents:
        for line, text in blocks(doc):
            checked += 1
            if text in by_text:
                used.add(by_text[text])
            else:
                problems.append(f"{doc.relative_to(root)}:{line}: this cpp block is in no doc-sample region "
                                f"(or differs from it); see tools/check_doc_samples.py")
    for name, (where, _) in sorted(samples.items()):
        if name not in used:
            problems.append(f"{where}: doc-sample '{name}' is shown by no document")
    for p in problems:
        print(p)
    print(f"{checked} cpp blocks in {len(documents)} documents, {len(samples)} sample regions, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
