#!/usr/bin/env python3
"""Derive data/codes/icd10cm.tsv from the CDC/NCHS ICD-10-CM tabular XML.

Not used at build or test time; kept to show how icd10cm.tsv was made.

Usage:
    python3 derive_icd10cm.py TABULAR_XML > icd10cm.tsv

TABULAR_XML is the CDC "icd10cm-tabular" file, here the copy shipped in the
PyPI wheel simple-icd-10-cm 1.5.0 as
simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml (see README.md).

Output: one line per code, "CODE<TAB>Description", code without the dot,
only codes of 3 characters (categories) and 4 characters (first-level
subcategories), sorted by code, UTF-8, no header.
"""
import sys
import xml.etree.ElementTree as ET


def main(path):
    root = ET.parse(path).getroot()
    rows = {}
    # Every category and subcategory is a <diag> with <name> and <desc>,
    # nested under <chapter>/<section>; chapters and sections (blocks) are not <diag>.
    for diag in root.iter("diag"):
        name = diag.findtext("name")
        desc = diag.findtext("desc")
        if name is None or desc is None:
            raise SystemExit("diag without name or desc")
        code = name.strip().replace(".", "")
        if len(code) > 4:
            continue
        desc = " ".join(desc.split())  # collapse any internal whitespace
        if "\t" in desc or not desc:
            raise SystemExit("bad description for " + code)
        if code in rows and rows[code] != desc:
            raise SystemExit("conflicting descriptions for " + code)
        rows[code] = desc
    out = sys.stdout
    for code in sorted(rows):
        out.write(code + "\t" + rows[code] + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
