#!/usr/bin/env python3
"""Check the independent screening evaluation corpus.

Parses every document (`<set>/*.txt`) and every OCR source
(`ocr/sources/*.source`), checks headers and tags, prints counts per set and
kind. Exit status 1 on errors; warnings do not fail.

    python3 check.py [-q]      # -q: no warnings, only errors and counts
"""
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SETS = ["case", "ocr", "public"]
KINDS = ["name", "cpr", "address", "phone", "email", "account", "own"]
THIRD = [k for k in KINDS if k != "own"]
REQUIRED = ["source", "requester-name", "requester-cpr", "requester-address"]
OPTIONAL = ["requester-phone", "requester-email", "department", "note"]
SOURCES = {
    "letter", "mail-thread", "journal-note", "minutes", "table", "form",
    "medical", "police-report", "school-report", "sms", "decision",
    "ocr-letter", "ocr-form", "ocr-table", "forum", "news", "speech",
    "biography", "letter-to-editor", "chat", "press-release",
}
OCR_DIGITS = str.maketrans("OoDlIiSB", "00011158")
TAG = re.compile(r"\{\{([a-z]+)\|(.*?)\}\}", re.S)
FUNCTIONAL_MAIL = re.compile(
    r"^(post|info|kontakt|jobcenter|borgerservice|ydelse|sygedagpenge|"
    r"handicap|aeldre|ældre|boern|born|familie|skole|sekretariat|raadhus|"
    r"no-?reply|noreply|support|redaktion|presse|service|kundeservice|"
    r"mail|sikkerpost|digitalpost|pladsanvisning|visitation|tandpleje|"
    r"hjemmepleje|myndighed|kontor|administration|hr|job|ppr|sundhed|"
    r"bolig|udbetaling|vejogpark|drift|opkraevning|opkrævning|kommune)[a-z0-9._-]*@",
    re.I,
)


class Doc:
    def __init__(self, path, rel):
        self.path = path
        self.rel = rel
        self.errors = []
        self.warnings = []
        self.headers = {}
        self.tags = []  # (kind, content, start, end) in plain text
        self.plain = ""
        self.parse()

    def err(self, msg):
        self.errors.append(msg)

    def warn(self, msg):
        self.warnings.append(msg)

    def parse(self):
        try:
            raw = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            self.err(f"not UTF-8: {e}")
            return
        if "\r" in raw:
            self.err("contains \\r")
        lines = raw.split("\n")
        try:
            sep = lines.index("---")
        except ValueError:
            self.err("no '---' separator line")
            return
        for i, line in enumerate(lines[:sep], 1):
            m = re.match(r"^([a-z-]+):(?: (.*))?$", line)
            if not m:
                self.err(f"header line {i} malformed: {line!r}")
                continue
            key, val = m.group(1), (m.group(2) or "").strip()
            if key in self.headers:
                self.err(f"header {key} twice")
            if key not in REQUIRED + OPTIONAL:
                self.err(f"unknown header {key}")
            self.headers[key] = val
        for key in REQUIRED:
            if key not in self.headers:
                self.err(f"missing header {key}")
        src = self.headers.get("source")
        if src is not None and src not in SOURCES:
            self.err(f"unknown source {src!r}")
        body = "\n".join(lines[sep + 1:])
        out = []
        pos = 0
        for m in TAG.finditer(body):
            out.append(body[pos:m.start()])
            kind, content = m.group(1), m.group(2)
            start = sum(len(x) for x in out)
            if kind not in KINDS:
                self.err(f"unknown kind {kind!r} at {content!r}")
            if "{{" in content or "|" in content:
                self.err(f"nested or malformed tag: {m.group(0)!r}")
            if not content or content != content.strip():
                self.err(f"empty span or outer whitespace: {m.group(0)!r}")
            if content and content[-1] in ",;:!?)\"»" and kind != "name":
                self.warn(f"span ends in punctuation: {m.group(0)!r}")
            out.append(content)
            self.tags.append((kind, content, start, start + len(content)))
            pos = m.end()
        out.append(body[pos:])
        self.plain = "".join(out)
        rest = TAG.sub("", body)
        for bad in ("{{", "}}"):
            if bad in rest:
                i = rest.index(bad)
                self.err(f"unbalanced {bad!r} near {rest[max(0, i-30):i+30]!r}")
        if not self.plain.strip():
            self.err("empty text")
        self.semantic_checks()

    def untagged_occurrences(self, needle):
        """Positions where needle occurs in plain text outside every tag."""
        res = []
        if not needle:
            return res
        for m in re.finditer(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", self.plain):
            if not any(s <= m.start() < e for _, _, s, e in self.tags):
                res.append(m.start())
        return res

    def semantic_checks(self):
        ocr = self.rel.startswith("ocr/") and not self.rel.startswith("ocr/sources")
        req = self.headers.get("requester-name", "")
        for kind, content, _, _ in self.tags:
            if kind == "cpr" and not ocr:
                digits = re.sub(r"\D", "", content.translate(OCR_DIGITS))
                if len(digits) >= 6:
                    dd, mm = int(digits[:2]), int(digits[2:4])
                    if not (1 <= dd <= 31 and 1 <= mm <= 12):
                        self.err(f"CPR with invalid date: {content!r}")
            if kind == "name" and req and content == req:
                self.err(f"requester's name tagged as name: {content!r}")
            if kind == "own" and not req and not self.headers.get("requester-cpr"):
                self.err(f"own tag in a document without requester: {content!r}")
        # a tagged string that also occurs untagged
        seen = set()
        for kind, content, _, _ in self.tags:
            if (kind, content) in seen or len(content) < 3:
                continue
            seen.add((kind, content))
            if self.untagged_occurrences(content):
                self.warn(f"{kind} {content!r} also occurs untagged")
        for key in ("requester-name", "requester-cpr"):
            val = self.headers.get(key, "")
            if val and self.untagged_occurrences(val):
                self.warn(f"{key} {val!r} occurs untagged")
        for tok in set(re.findall(r"\w[\w'-]+", req)):
            if len(tok) >= 3:
                for pos in self.untagged_occurrences(tok):
                    ctx = self.plain[max(0, pos - 25):pos + len(tok) + 25].replace("\n", " ")
                    self.warn(f"requester name part {tok!r} untagged: ...{ctx}...")
        for m in re.finditer(r"(?<!\d)\d{6}[- ]?\d{4}(?!\d)", self.plain):
            if not any(s <= m.start() < e for _, _, s, e in self.tags):
                dd, mm = int(m.group(0)[:2]), int(m.group(0)[2:4])
                if 1 <= dd <= 31 and 1 <= mm <= 12:
                    self.warn(f"untagged CPR-like {m.group(0)!r}")
        for m in re.finditer(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", self.plain):
            if any(s <= m.start() < e for _, _, s, e in self.tags):
                continue
            if not FUNCTIONAL_MAIL.match(m.group(0)):
                self.warn(f"untagged e-mail {m.group(0)!r} (functional?)")

    def third_party(self):
        return any(k in THIRD for k, _, _, _ in self.tags)


def main():
    quiet = "-q" in sys.argv
    docs = defaultdict(list)
    for s in SETS:
        for p in sorted((ROOT / s).glob("*.txt")):
            docs[s].append(Doc(p, f"{s}/{p.name}"))
    for p in sorted((ROOT / "ocr" / "sources").glob("*.source")):
        docs["ocr/sources"].append(Doc(p, f"ocr/sources/{p.name}"))

    nerr = nwarn = 0
    for s, ds in docs.items():
        names = Counter(d.path.name.split("-")[0] for d in ds)
        for n, c in names.items():
            if c > 1:
                print(f"ERROR {s}: number {n} used {c} times")
                nerr += 1
        for d in ds:
            for e in d.errors:
                print(f"ERROR {d.rel}: {e}")
                nerr += 1
            for w in d.warnings:
                nwarn += 1
                if not quiet:
                    print(f"warn  {d.rel}: {w}")

    print()
    header = f"{'set':<12}{'docs':>5}{'no-3rd':>7}" + "".join(f"{k:>9}" for k in KINDS) + f"{'chars':>9}"
    print(header)
    print("-" * len(header))
    total = Counter()
    for s in SETS + ["ocr/sources"]:
        ds = docs.get(s, [])
        c = Counter(k for d in ds for k, _, _, _ in d.tags)
        none = sum(1 for d in ds if not d.third_party())
        chars = sum(len(d.plain) for d in ds)
        print(f"{s:<12}{len(ds):>5}{none:>7}" + "".join(f"{c[k]:>9}" for k in KINDS) + f"{chars:>9}")
        if s in SETS:
            total.update(c)
            total["_docs"] += len(ds)
            total["_none"] += none
            total["_chars"] += chars
    print("-" * len(header))
    print(f"{'all sets':<12}{total['_docs']:>5}{total['_none']:>7}" + "".join(f"{total[k]:>9}" for k in KINDS) + f"{total['_chars']:>9}")
    print()
    for s in SETS:
        src = Counter(d.headers.get("source", "?") for d in docs.get(s, []))
        print(f"{s} sources: " + ", ".join(f"{k} {v}" for k, v in sorted(src.items())))
    tagchars = Counter()
    for s in SETS:
        for d in docs.get(s, []):
            for k, content, _, _ in d.tags:
                tagchars[k] += len(content)
    print("tagged characters per kind (all sets): " + ", ".join(f"{k} {tagchars[k]}" for k in KINDS))
    print(f"\n{nerr} errors, {nwarn} warnings")
    return 1 if nerr else 0


if __name__ == "__main__":
    sys.exit(main())
