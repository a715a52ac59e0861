"""Shared test set-up: quiet TensorFlow once, before any test imports it."""

import matplotlib

matplotlib.use("Agg")

import cnnkit as ck  # noqa: E402

ck.setup(seed=0)
