"""librec from Python in ten lines: load MovieLens, fit ALS, recommend for
every user in one call, evaluate.

    python3 examples/python/quickstart.py [path/to/ml-latest-small/ratings.csv]

Without a path it uses librec's generated dataset, so it runs anywhere.
Set LIBREC_LIBRARY to build/librec.so.0 to use a library not installed.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "bindings", "python"))
import librec  # noqa: E402

path = sys.argv[1] if len(sys.argv) > 1 else None
data = librec.Dataset.load(path) if path else librec.Dataset.generate()
print(data)
train, test = data.split("user:0.2", seed=42)
model = librec.Model("als", dim=64, epochs=15).fit(train, progress=True)
items, scores = model.recommend(range(train.num_users), k=10)
ids = model.item_ids
print("user %s: %s" % (model.user_ids[0], ", ".join(ids[i] for i in items[0])))
print(librec.evaluate(model, test, ["ndcg@10", "recall@10", "coverage@10"]))
