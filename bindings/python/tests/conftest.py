"""The package under test is the one beside these tests; the library is
LIBREC_LIBRARY (make check-python points it at the fresh build)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import pytest  # noqa: E402

import librec  # noqa: E402


@pytest.fixture(scope="session")
def data():
    return librec.Dataset.generate(users=120, items=150, seed=7)


@pytest.fixture(scope="session")
def split(data):
    return data.split("user:0.2", seed=1)


@pytest.fixture(scope="session")
def als(split):
    return librec.Model("als", dim=16, epochs=3).fit(split[0])
