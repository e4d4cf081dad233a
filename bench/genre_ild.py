#!/usr/bin/env python3
# Genre diversity of the top-10 lists `librec recommend` gives every user:
# mean over users of the mean Jaccard distance between two listed movies'
# genre sets (as 14_pipeline's ILD), and the mean number of distinct genres
# in a list.  Usage: genre_ild.py movies.csv recs.jsonl
import csv, json, sys
genres = {}
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        genres[row["movieId"]] = set(row["genres"].split("|"))
ild = distinct = 0.0
n = 0
for line in open(sys.argv[2]):
    items = [x["item"] for x in json.loads(line)["items"]]
    gs = [genres.get(i, set()) for i in items]
    pairs = [(a, b) for a in range(len(gs)) for b in range(a + 1, len(gs))]
    if not pairs:
        continue
    ild += sum(1 - len(gs[a] & gs[b]) / max(1, len(gs[a] | gs[b])) for a, b in pairs) / len(pairs)
    distinct += len(set().union(*gs))
    n += 1
print("users %d  genre ILD@10 %.4f  distinct genres in a top 10 %.2f" % (n, ild / n, distinct / n))
