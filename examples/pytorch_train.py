#!/usr/bin/python3
"""Logging GPU and host use from a PyTorch training loop with gpuctl's
ResourceMetricCollector (nvitop's API).

Trains a small regression model on synthetic data (on the CPU unless
--device says otherwise) and, every --log-every steps, prints one JSON line
with the loss and the collector's figures for the epoch so far (the keys of
the innermost scope, 'train/epoch/…': mean, min, max and last of each).

    PYTHONPATH=python LD_LIBRARY_PATH=build/src/lib python3 examples/pytorch_train.py
"""

import argparse
import json
import os
import sys

import torch

import gpuctl


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=20, help="steps per epoch")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--interval", type=float, default=0.05, help="collector interval, seconds")
    p.add_argument("--device", default="cpu")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, 1)).to(args.device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    true_w = torch.randn(32, 1)

    collector = gpuctl.ResourceMetricCollector(root_pids={os.getpid()},
                                               interval=args.interval)
    with collector(tag="train"):
        for epoch in range(args.epochs):
            with collector(tag="epoch"):
                for step in range(1, args.steps + 1):
                    x = torch.randn(128, 32)
                    y = x @ true_w
                    loss = torch.nn.functional.mse_loss(model(x.to(args.device)),
                                                        y.to(args.device))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    if step % args.log_every == 0:
                        record = {"epoch": epoch, "step": step, "loss": loss.item()}
                        record.update(collector.collect())
                        print(json.dumps(record), flush=True)
    collector.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
