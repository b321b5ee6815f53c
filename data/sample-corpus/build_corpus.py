#!/usr/bin/env python3
"""Builds corpus.jsonl.gz, the sample corpus, from text shipped with Debian (see LICENSE.md).

Deterministic (fixed seed, sorted inputs) on a given set of installed packages; the committed
corpus.jsonl.gz is the reference, this script records how it was made. Run from this folder:
    python3 build_corpus.py
Each record: id, source, text, licence, planted (what was planted: "", "exact-dup-of:ID",
"near-dup-of:ID ~J", "far-variant-of:ID ~J", "junk:FILTER", "pii").

It also writes manifest.json, what the corpus holds by construction, for the tests to check the
pipeline against: the document count, the rows planted to trip each filter, every exact copy
(planted or natural, e.g. GPL and GPL-3), the planted near-duplicates and far variants. To write
the manifest of the committed corpus without rebuilding it (which needs the same Debian packages):
    python3 build_corpus.py --manifest-only
"""
import glob
import gzip
import hashlib
import json
import os
import random
import re
import subprocess
import sys

rng = random.Random(20241126)
docs = []


def write_manifest(docs, path="manifest.json"):
    """What the corpus holds by construction, from the records' planted field and their texts."""
    first_with_text = {}
    exact_copies = {}
    for d in docs:
        # A copy names the first document with the same text, as a deduplicator keeps one of them.
        if d["text"] in first_with_text:
            exact_copies[d["id"]] = first_with_text[d["text"]]
        else:
            first_with_text[d["text"]] = d["id"]

    def related(kind):
        out = {}
        for d in docs:
            if d["planted"].startswith(kind + ":"):
                of, similarity = d["planted"][len(kind) + 1 :].split(" ~")
                out[d["id"]] = {"of": of, "jaccard": float(similarity)}
        return out

    by_source = {}
    for d in docs:
        by_source[d["source"]] = by_source.get(d["source"], 0) + 1
    manifest = {
        "documents": len(docs),
        "by_source": dict(sorted(by_source.items())),
        "junk": {d["id"]: d["planted"][len("junk:") :] for d in docs if d["planted"].startswith("junk:")},
        "exact_copies": exact_copies,
        "near_duplicates": related("near-dup-of"),
        "far_variants": related("far-variant-of"),
        "pii": [d["id"] for d in docs if d["planted"] == "pii"],
        "normalisation": [d["id"] for d in docs if d["planted"] == "normalisation"],
    }
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")


if "--manifest-only" in sys.argv[1:]:
    with gzip.open("corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        write_manifest([json.loads(line) for line in f])
    sys.exit(0)


def add(source, text, licence, planted="", doc_id=None):
    text = text.strip()
    if not text:
        return None
    doc_id = doc_id or source + "/" + hashlib.sha1(text.encode()).hexdigest()[:12]
    docs.append({"id": doc_id, "source": source, "text": text, "licence": licence, "planted": planted})
    return docs[-1]


def cut(text, limit):
    if len(text) <= limit:
        return text
    at = text.rfind("\n\n", 0, limit)
    return text[: at if at > limit // 2 else limit]


# 1. Licence texts (verbatim copying permitted by each text); GPL, LGPL, GFDL are symlinks to
#    their newest version, so they arrive as natural exact duplicates.
for path in sorted(glob.glob("/usr/share/common-licenses/*")):
    with open(path, encoding="utf-8", errors="replace") as f:
        add("common-licenses", f.read(), "verbatim copying permitted (the licence text itself)",
            doc_id="common-licenses/" + os.path.basename(path))

# 2. Debian copyright files: many quote the same licences, so near-duplicates occur naturally.
for path in sorted(glob.glob("/usr/share/doc/*/copyright"))[:260]:
    pkg = path.split("/")[4]
    with open(path, encoding="utf-8", errors="replace") as f:
        add("debian-copyright", cut(f.read(), 8000), "part of Debian package " + pkg + ", under its terms",
            doc_id="debian-copyright/" + pkg)

# 3. Debian changelogs: English with bullet lists, e-mail addresses and dates.
for path in sorted(glob.glob("/usr/share/doc/*/changelog.Debian.gz"))[:80]:
    pkg = path.split("/")[4]
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        add("debian-changelog", cut(f.read(), 3000), "part of Debian package " + pkg + ", under its terms",
            doc_id="debian-changelog/" + pkg)

# 4. German, French and Spanish: translated program messages, joined into paragraphs.
FORMAT = re.compile(r"%[-#0-9.*lhz]*[a-zA-Z]|[`'\"]|\\n|\s+")
for lang in ("de", "fr", "es"):
    for domain in ("coreutils", "dpkg", "apt", "findutils", "grep", "diffutils", "bash", "tar", "wget"):
        mo = "/usr/share/locale/%s/LC_MESSAGES/%s.mo" % (lang, domain)
        if not os.path.exists(mo):
            continue
        po = subprocess.run(["msgunfmt", mo], capture_output=True, text=True).stdout
        strings = []
        for m in re.finditer(r'msgstr "(.*)"\n((?:".*"\n)*)', po):
            s = m.group(1) + "".join(x[1:-1] for x in m.group(2).splitlines())
            s = FORMAT.sub(" ", s.replace("\\n", " ")).strip()
            if len(s) >= 60 and s.endswith(".") and "--" not in s and s.count(" ") >= 8:
                strings.append(s)
        for k in range(0, min(len(strings), 90), 30):
            block = strings[k:k + 30]
            paras = [" ".join(block[i:i + 5]) for i in range(0, len(block), 5)]
            if len(block) >= 10:
                add("messages-" + lang, "\n\n".join(paras), "translations from Debian package " + domain
                    + ", under its terms", doc_id="messages-%s/%s-%d" % (lang, domain, k // 30))

originals = [d for d in docs if len(d["text"].split()) > 200 and d["source"] != "common-licenses"]


def edit_words(text, rate):
    words = text.split(" ")
    out = []
    for w in words:
        r = rng.random()
        if r < rate / 2:
            continue
        if r < rate:
            out.append(rng.choice(["data", "river", "green", "seven", "quietly", "archive", "window"]))
        out.append(w)
    return " ".join(out)


def shingles(text, n=5):
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a, b):
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


# 5. Planted duplicates: exact copies, near-duplicates (~0.8-0.95 5-gram Jaccard) and far
#    variants (~0.3-0.6) that a 0.8 threshold must keep.
for d in rng.sample(originals, 12):
    add("mirror", d["text"], d["licence"], "exact-dup-of:" + d["id"], doc_id="mirror/exact-" + d["id"])
for d in rng.sample(originals, 24):
    t = edit_words(d["text"], 0.01)
    add("mirror", t, d["licence"], "near-dup-of:%s ~%.2f" % (d["id"], jaccard(t, d["text"])),
        doc_id="mirror/near-" + d["id"])
for d in rng.sample(originals, 8):
    t = edit_words(d["text"], 0.12)
    add("mirror", t, d["licence"], "far-variant-of:%s ~%.2f" % (d["id"], jaccard(t, d["text"])),
        doc_id="mirror/far-" + d["id"])

# 6. Junk that trips each filter family, and PII to redact.
prose = ("The committee reviewed the proposal in detail and agreed to publish the final report. "
         "Members noted that the budget had been balanced for the third year in a row. "
         "Several volunteers offered to translate the summary into other languages. "
         "The next meeting will take place in the spring, after the annual audit. "
         "Questions about the process can be sent to the secretary at any time. "
         "Everyone thanked the organisers for a productive and friendly session.")
junk = {
    "gopher-min-words": "Click here. Buy now. Best price.",
    "gopher-min-mean-word-length": " ".join(["a b c d e f g h i j k l m n o p q r s t u v w x y z."] * 6),
    "gopher-max-symbol-word-ratio": " ".join("#deal #sale #promo #win ... news" for _ in range(40)),
    "gopher-max-bullet-lines": "\n".join("- item number %d in the shopping list" % i for i in range(40)),
    "gopher-max-ellipsis-lines": "\n".join("and then the story continues with part %d..." % i for i in range(30)),
    "gopher-min-alpha-words": " ".join("%d %d.%d 0x%X 100%% --" % (i, i, i * 7, i * 13) for i in range(80)),
    "gopher-min-stop-words": ("Cats sleep most afternoons. Dogs chase balls across green parks. Birds sing loudly "
                              "during spring mornings. Children draw pictures using bright crayons. Farmers harvest "
                              "golden wheat every autumn. Sailors navigate stormy seas using maps. Bakers prepare "
                              "fresh bread before sunrise. Painters mix colours carefully. Doctors examine patients "
                              "inside busy clinics. Students read books quietly inside libraries. Gardeners plant "
                              "roses along narrow paths. Engineers design sturdy bridges across rivers."),
    "gopher-max-dup-lines": "\n".join(["Subscribe to our newsletter for the latest offers today."] * 12 + [prose]),
    "gopher-max-dup-paragraphs": "\n\n".join([prose, "Read more about the committee on our website today."] * 3),
    "gopher-max-top-2gram": prose + " " + " ".join(["cheap flights cheap flights to cheap flights deals"] * 30),
    "c4-max-lorem-ipsum": "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " + prose,
    "c4-max-curly-brackets": prose + "\n\nfunction init() { var x = document.getElementById('main'); return x; }",
    "c4-min-sentences": "\n".join(prose.replace(".", "").split(" the ")),
    "fineweb-max-short-lines": "\n".join(w + " of the day" for w in prose.split(" ")),
    "fineweb-max-newline-ratio": "\n".join(" ".join(prose.split(" ")[i:i + 3]) for i in range(0, 90, 3)),
    "fineweb-max-char-dup": prose + "\nAll rights reserved by the authors.\nAll rights reserved by the authors.",
    "c4-line-rules": prose + "\n\nThis site uses cookies to improve your experience.\nPlease enable JavaScript "
                             "to continue.\nHome | About | Contact",
}
for i, (name, text) in enumerate(sorted(junk.items())):
    add("junk", text, "generated for this corpus (CC0)", "junk:" + name, doc_id="junk/%02d-%s" % (i, name))
docs.append({"id": "junk/empty", "source": "junk", "text": " \u0007 \t ", "licence": "generated for this corpus (CC0)",
              "planted": "junk:min-chars"})
add("pii", prose + "\n\nContact Jane at jane.doe@example.org or +44 20 7946 0958; the server is 192.0.2.17 "
    "(IPv6 2001:db8::8a2e:370:7334), and the office line is (555) 123-4567.",
    "generated for this corpus (CC0)", "pii", doc_id="pii/contact")
add("pii", "Cafe\u0301 menu\u200b: cre\u0300me bru\u0302le\u0301e\r\n\r\n\r\n" + prose + "\u0000\u001b",
    "generated for this corpus (CC0)", "normalisation", doc_id="pii/normalisation")

with gzip.GzipFile("corpus.jsonl.gz", "wb", mtime=0) as out:
    for d in docs:
        out.write((json.dumps(d, ensure_ascii=False) + "\n").encode("utf-8"))
write_manifest(docs)
by_source = {}
for d in docs:
    by_source[d["source"]] = by_source.get(d["source"], 0) + 1
print(len(docs), "documents,", sum(len(d["text"]) for d in docs), "characters:", by_source)
