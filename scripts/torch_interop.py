#!/usr/bin/env python3
"""Moves VAE weights between PyTorch and Latent Explorer, for tests/interop.rs and as a worked
example of docs/interop.md. Uses the VAE class of ../shared/bench/torch_vae.py (the classic
pytorch/examples model: fc1, fc21, fc22, fc3, fc4).

  export  --latent L --seed S --out W.safetensors [--dtype float32|float16|bfloat16|float64]
          a randomly initialised VAE's state dict, saved with safetensors.torch.save_file
  encode  --weights W.safetensors --images X.npy --out MU.npy
          posterior means of images (N x H x W or N x D, floats in [0, 1]); W may be a PyTorch
          state dict or a Latent Explorer checkpoint (its keys are renamed back)
  decode  --weights W.safetensors --codes Z.npy --out X.npy
          decoder outputs (sigmoid) of codes N x L
  inspect --npy A.npy [--npz B.npz]
          one JSON line describing arrays (numpy reading files Latent Explorer wrote)
"""
import argparse
import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "..", "shared", "bench"))

# Latent Explorer's layer names for the example's.
OURS = {
    "fc1": "encoder.hidden.0",
    "fc21": "encoder.mean",
    "fc22": "encoder.logvar",
    "fc3": "decoder.hidden.0",
    "fc4": "decoder.out",
}


def load_vae(path):
    """A torch_vae.VAE with the weights of `path` (either naming)."""
    import torch
    from safetensors.torch import load_file
    from torch_vae import VAE

    state = load_file(path)
    back = {v: k for k, v in OURS.items()}
    renamed = {}
    for key, tensor in state.items():
        layer, param = key.rsplit(".", 1)
        renamed[f"{back.get(layer, layer)}.{param}"] = tensor.float()
    inp = renamed["fc1.weight"].shape[1]
    hidden = renamed["fc1.weight"].shape[0]
    latent = renamed["fc21.weight"].shape[0]
    model = VAE(latent=latent, hidden=hidden, inp=inp)
    model.load_state_dict(renamed, strict=True)
    model.eval()
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["export", "encode", "decode", "inspect"])
    ap.add_argument("--latent", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--out")
    ap.add_argument("--weights")
    ap.add_argument("--images")
    ap.add_argument("--codes")
    ap.add_argument("--npy")
    ap.add_argument("--npz")
    a = ap.parse_args()

    if a.command == "inspect":
        out = {}
        if a.npy:
            x = np.load(a.npy)
            out["npy"] = {"shape": list(x.shape), "dtype": x.dtype.str,
                          "sum": float(np.sum(x, dtype=np.float64))}
        if a.npz:
            with np.load(a.npz) as z:
                out["npz"] = {k: {"shape": list(z[k].shape), "dtype": z[k].dtype.str,
                                  "sum": float(np.sum(z[k], dtype=np.float64))}
                              for k in z.files}
        print(json.dumps(out))
        return

    import torch
    from safetensors.torch import save_file
    from torch_vae import VAE

    if a.command == "export":
        torch.manual_seed(a.seed)
        model = VAE(latent=a.latent)
        dtype = getattr(torch, a.dtype)
        save_file({k: v.to(dtype).contiguous() for k, v in model.state_dict().items()}, a.out)
    elif a.command == "encode":
        model = load_vae(a.weights)
        x = torch.from_numpy(np.load(a.images).astype(np.float32))
        with torch.no_grad():
            mu, _ = model.encode(x.reshape(x.shape[0], -1))
        np.save(a.out, mu.numpy())
    elif a.command == "decode":
        model = load_vae(a.weights)
        z = torch.from_numpy(np.load(a.codes).astype(np.float32))
        with torch.no_grad():
            x = model.decode(z)
        np.save(a.out, x.numpy())


if __name__ == "__main__":
    main()
