#!/usr/bin/env python3
"""Render the OCR sources to images, run tesseract, draft tagged OCR documents.

    pip install pillow
    python3 make_ocr.py [NNN ...]      # default: all sources

For every `sources/NNN-slug.source` (a tagged document in the corpus format):

1. strip the tags to get the plain text;
2. render it (long lines word-wrapped) to a greyscale page with Pillow, with the per-document settings
   in PARAMS (font, size, rotation, noise, blur, down-scaling, JPEG quality;
   random parts are seeded with the document number, so rendering is
   reproducible) -> `images/NNN-slug.png`;
3. run `tesseract images/NNN-slug.png - -l dan --psm P` (OMP_THREAD_LIMIT=1);
4. carry the source's tags over to the OCR output by a character alignment
   (difflib) and write `drafts/NNN-slug.txt`, plus a line per tag in
   `drafts/NNN-slug.report` (source span -> OCR span) for the human review.

The drafts are NOT the gold files. The gold files `../NNN-slug.txt` were made
from the drafts by reading every one against the OCR output and correcting
the tag boundaries by hand; the OCR text itself was not changed. The script
never writes outside `images/` and `drafts/`.
"""
import difflib
import io
import os
import random
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
SRC = HERE / "sources"
IMG = HERE / "images"
DRAFT = HERE / "drafts"
FONTS = Path("/usr/share/fonts/truetype/dejavu")
TAG = re.compile(r"\{\{([a-z]+)\|(.*?)\}\}", re.S)

# font, size in px on a 1654 px wide page (A4 at 200 dpi), rotation in
# degrees, noise standard deviation (seeded, uniform), blur radius, downscale
# factor (render, shrink by it and scale back up: a low-resolution scan),
# threshold to black/white (0 = none), JPEG quality, speckles, tesseract page
# segmentation mode. Chosen so that a few pages come out nearly clean and
# most have the errors of a poor scan; noise above ~12 makes tesseract read
# the noise as text, which is not what a real scan looks like.
DEFAULT = dict(font="DejaVuSerif.ttf", size=26, rot=0.0, noise=0, blur=0.0,
               down=1.0, jpeg=0, specks=0, thresh=0, psm=4)
PARAMS = {
    "001": dict(font="DejaVuSans.ttf", size=24, rot=0.4),
    "002": dict(font="DejaVuSansMono.ttf", size=16, rot=-0.8, down=1.9, noise=10, psm=6),
    "003": dict(font="DejaVuSansMono.ttf", size=15, rot=0.3, down=2.0, jpeg=40, psm=6),
    "004": dict(font="DejaVuSerif.ttf", size=17, rot=1.3, down=1.8, noise=8),
    "005": dict(font="DejaVuSans.ttf", size=16, rot=-0.6, down=2.1, jpeg=35),
    "006": dict(font="DejaVuSerifCondensed.ttf", size=18, rot=1.8, down=1.7, specks=400),
    "007": dict(font="DejaVuSansMono.ttf", size=16, rot=0.5, down=2.2, psm=6),
    "008": dict(font="DejaVuSerif.ttf", size=16, rot=-1.2, down=2.0, noise=9, jpeg=45),
    "009": dict(font="DejaVuSans.ttf", size=20, rot=0.9, down=1.5, noise=6),
    "010": dict(font="DejaVuSerif.ttf", size=17, rot=0.6, down=1.8, noise=12),
    "011": dict(font="DejaVuSansMono.ttf", size=16, rot=0.7, down=1.9, noise=10, psm=6),
    "012": dict(font="DejaVuSansCondensed.ttf", size=19, rot=-1.6, down=1.6, specks=600),
    "013": dict(font="DejaVuSerif.ttf", size=18, rot=1.6, down=1.9, blur=0.4, psm=6),
    "014": dict(font="DejaVuSansMono.ttf", size=15, rot=-0.4, down=2.1, noise=8, jpeg=30, psm=6),
    "015": dict(font="DejaVuSans.ttf", size=17, rot=0.0, down=2.3, jpeg=50),
    "016": dict(font="DejaVuSerif.ttf", size=14, rot=-0.3, down=1.7),
    "017": dict(font="DejaVuSansMono.ttf", size=16, rot=1.1, down=2.0, blur=0.3, psm=6),
    "018": dict(font="DejaVuSerifCondensed.ttf", size=20, rot=-0.9, down=1.6, noise=10, specks=1500),
    "019": dict(font="DejaVuSans.ttf", size=16, rot=1.5, down=2.2, jpeg=25),
    "020": dict(font="DejaVuSerif.ttf", size=22, rot=-2.0, down=1.3, noise=6),
    "021": dict(font="DejaVuSansMono.ttf", size=16, rot=0.6, down=2.0, noise=9, specks=800, psm=6),
    "022": dict(font="DejaVuSansMono.ttf", size=17, rot=-1.0, down=2.2, psm=6),
    "023": dict(font="DejaVuSerif.ttf", size=16, rot=0.8, down=2.0, noise=8, jpeg=40),
    "024": dict(font="DejaVuSansMono.ttf", size=15, rot=-0.5, down=2.1, thresh=200, psm=6),
    "025": dict(font="DejaVuSans.ttf", size=14, rot=0.3, down=1.8),
}


def parse(path):
    raw = path.read_text(encoding="utf-8")
    head, body = raw.split("\n---\n", 1)
    plain, spans, pos = [], [], 0
    for m in TAG.finditer(body):
        plain.append(body[pos:m.start()])
        start = sum(len(x) for x in plain)
        plain.append(m.group(2))
        spans.append((m.group(1), start, start + len(m.group(2))))
        pos = m.end()
    plain.append(body[pos:])
    return head, "".join(plain), spans


def render(text, p, seed):
    rnd = random.Random(seed)
    font = ImageFont.truetype(str(FONTS / p["font"]), p["size"])
    width, margin = 1654, 110
    lines = []
    for line in text.split("\n"):  # word-wrap long paragraphs, like a printed page
        while font.getlength(line) > width - 2 * margin and " " in line.strip():
            cut = len(line)
            while font.getlength(line[:cut]) > width - 2 * margin or line[cut - 1:cut] != " ":
                cut -= 1
                if cut <= 1:
                    break
            if cut <= 1:
                break
            lines.append(line[:cut].rstrip())
            line = line[cut:]
        lines.append(line)
    lh = int(font.size * 1.45)
    height = max(2339, 2 * margin + lh * len(lines))
    img = Image.new("L", (width, height), 255)
    d = ImageDraw.Draw(img)
    y = margin
    for line in lines:
        d.text((margin + rnd.uniform(-1.5, 1.5), y), line, font=font, fill=rnd.randint(0, 40))
        y += lh
    if p["rot"]:
        img = img.rotate(p["rot"], resample=Image.BICUBIC, expand=True, fillcolor=255)
    if p["blur"]:
        img = img.filter(ImageFilter.GaussianBlur(p["blur"]))
    if p["down"] > 1:
        w, h = img.size
        img = img.resize((int(w / p["down"]), int(h / p["down"])), Image.BILINEAR)
        img = img.resize((w, h), Image.BILINEAR)
    if p["noise"]:
        # seeded uniform noise with the standard deviation p["noise"]
        a = p["noise"] * 3 ** 0.5
        noise = Image.frombytes("L", img.size, rnd.randbytes(img.size[0] * img.size[1]))
        noise = noise.point(lambda v: int(128 - a + 2 * a * v / 255))
        img = ImageChops.add(img, noise, 1.0, -128)
    if p["specks"]:
        d = ImageDraw.Draw(img)
        w, h = img.size
        for _ in range(p["specks"]):
            x, yy, r = rnd.randrange(w), rnd.randrange(h), rnd.choice([1, 1, 1, 2])
            d.ellipse((x, yy, x + r, yy + r), fill=rnd.randint(0, 90))
    if p["thresh"]:
        t = p["thresh"]
        img = img.point(lambda v: 0 if v < t else 255)
    if p["jpeg"]:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=p["jpeg"])
        img = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    return img


def boundary_map(src, ocr):
    """For every boundary 0..len(src), the matching boundary in ocr."""
    sm = difflib.SequenceMatcher(None, src, ocr, autojunk=False)
    bm = [0] * (len(src) + 1)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        for b in range(i1, i2):
            if tag == "equal":
                bm[b] = j1 + (b - i1)
            elif tag == "replace":
                bm[b] = j1 + round((b - i1) * (j2 - j1) / (i2 - i1))
            else:  # delete
                bm[b] = j1
    bm[len(src)] = len(ocr)
    return bm


def draft(head, src, spans, ocr):
    bm = boundary_map(src, ocr)
    out, report, last = [], [], 0
    tags = []
    for kind, s, e in spans:
        a, b = bm[s], bm[e] if e < len(src) else len(ocr)
        while a < b and ocr[a].isspace():
            a += 1
        while b > a and ocr[b - 1].isspace():
            b -= 1
        a = max(a, last)
        if a >= b:
            report.append(f"LOST   {kind:8} {src[s:e]!r}")
            continue
        tags.append((kind, a, b))
        report.append(f"{kind:8} {src[s:e]!r} -> {ocr[a:b]!r}")
        last = b
    pos = 0
    for kind, a, b in tags:
        out.append(ocr[pos:a])
        out.append("{{%s|%s}}" % (kind, ocr[a:b]))
        pos = b
    out.append(ocr[pos:])
    head = re.sub(r"(?m)^note: .*\n?", "", head).rstrip("\n")
    return head + "\n---\n" + "".join(out), report


def main():
    IMG.mkdir(exist_ok=True)
    DRAFT.mkdir(exist_ok=True)
    want = set(sys.argv[1:])
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    for path in sorted(SRC.glob("*.source")):
        num = path.name[:3]
        if want and num not in want:
            continue
        p = dict(DEFAULT, **PARAMS.get(num, {}))
        head, src, spans = parse(path)
        png = IMG / (path.stem + ".png")
        render(src, p, int(num)).save(png)
        ocr = subprocess.run(
            ["tesseract", str(png), "-", "-l", "dan", "--psm", str(p["psm"])],
            capture_output=True, text=True, env=env, check=True,
        ).stdout
        ocr = ocr.replace("\f", "").rstrip() + "\n"
        text, report = draft(head, src, spans, ocr)
        (DRAFT / (path.stem + ".txt")).write_text(text, encoding="utf-8")
        (DRAFT / (path.stem + ".report")).write_text("\n".join(report) + "\n", encoding="utf-8")
        lost = sum(1 for r in report if r.startswith("LOST"))
        print(f"{path.stem}: {len(ocr)} chars, {len(spans)} tags, {lost} lost")


if __name__ == "__main__":
    main()
