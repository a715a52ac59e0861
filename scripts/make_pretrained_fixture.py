"""Make tests/fixtures/mobilenet_v2_torch_reference.npz: torchvision's MobileNetV2 on the shipped photos.

The reference that tests/test_pretrained.py holds cnnkit's Keras conversion to. It is computed by
PyTorch itself, with the network written below in ``torch.nn`` exactly as torchvision defines it
(torchvision is not installed: its CUDA build is several GB), loading the weights with
``torch.load``. Two steps, because cnnkit and torch live in different environments:

    .venv/bin/python scripts/make_pretrained_fixture.py inputs /tmp/photos.npz
    python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install torch==2.13.0 numpy
    /tmp/torchref/bin/python scripts/make_pretrained_fixture.py reference /tmp/photos.npz WEIGHTS.pth

The first writes the photos exactly as the test feeds them to the Keras model (cnnkit.load_photos
at 224 and 160 pixels); the second runs torch on those very arrays and writes the fixture: per
photo and size the top-5 class indices and probabilities, the full logits of two photos at 224, and
per-channel means of the inputs (so the test can check that it feeds the same images).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "mobilenet_v2_torch_reference.npz"
SIZES = (224, 160)
LOGIT_PHOTOS = ("chelsea", "coffee")  # full logits, at 224 only: the fixture stays a few KB


def make_inputs(target: str) -> None:
    from cnnkit.photos import RGB_PHOTOS, load_photos

    arrays = {f"x{size}": load_photos(size=size) for size in SIZES}
    np.savez(target, names=np.array(RGB_PHOTOS), **arrays)
    print(f"wrote {target}: {', '.join(f'{k} {v.shape}' for k, v in arrays.items())}")


def torch_mobilenet_v2():
    """torchvision.models.mobilenet_v2, written out with torch.nn (same module names)."""
    from torch import nn

    def conv_bn_relu(inputs, outputs, kernel=3, stride=1, groups=1):
        return nn.Sequential(
            nn.Conv2d(inputs, outputs, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(outputs),  # eps 1e-5, torch's default
            nn.ReLU6(inplace=True),
        )

    class InvertedResidual(nn.Module):
        def __init__(self, inputs, outputs, stride, expansion):
            super().__init__()
            hidden = inputs * expansion
            self.use_residual = stride == 1 and inputs == outputs
            layers = [conv_bn_relu(inputs, hidden, kernel=1)] if expansion != 1 else []
            layers += [conv_bn_relu(hidden, hidden, stride=stride, groups=hidden),
                       nn.Conv2d(hidden, outputs, 1, 1, 0, bias=False), nn.BatchNorm2d(outputs)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_residual else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            settings = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                        (6, 160, 3, 2), (6, 320, 1, 1))
            features, channels = [conv_bn_relu(3, 32, stride=2)], 32
            for expansion, outputs, repeats, stride in settings:
                for repeat in range(repeats):
                    features.append(InvertedResidual(channels, outputs, stride if repeat == 0 else 1, expansion))
                    channels = outputs
            features.append(conv_bn_relu(channels, 1280, kernel=1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

        def forward(self, x):
            x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
            return self.classifier(x.flatten(1))

    return MobileNetV2()


def make_reference(inputs: str, weights: str) -> None:
    import torch

    model = torch_mobilenet_v2()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    model.eval()
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    data = np.load(inputs)
    names = [str(name) for name in data["names"]]
    fixture = {"names": np.array(names)}
    for size in SIZES:
        images = data[f"x{size}"]
        batch = (torch.from_numpy(images).permute(0, 3, 1, 2) - mean) / std
        with torch.no_grad():
            logits = model(batch).double()
        probabilities = torch.softmax(logits, dim=1).numpy()
        top = np.argsort(-probabilities, axis=1)[:, :5]
        fixture[f"top5_{size}"] = top.astype(np.int16)
        fixture[f"prob5_{size}"] = np.take_along_axis(probabilities, top, axis=1).astype(np.float32)
        fixture[f"input_means_{size}"] = images.mean(axis=(1, 2)).astype(np.float32)
        if size == 224:
            fixture["logits_224"] = logits.numpy()[[names.index(name) for name in LOGIT_PHOTOS]].astype(np.float32)
        for name, row, p in zip(names, top, fixture[f"prob5_{size}"]):
            print(size, f"{name:<13}", ", ".join(f"{i}:{q:.3f}" for i, q in zip(row, p)))
    fixture["logit_photos"] = np.array(LOGIT_PHOTOS)
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(FIXTURE, **fixture)
    print(f"wrote {FIXTURE.relative_to(ROOT)} ({FIXTURE.stat().st_size} bytes)")


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "inputs":
        make_inputs(argv[1])
    elif len(argv) == 3 and argv[0] == "reference":
        make_reference(argv[1], argv[2])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
