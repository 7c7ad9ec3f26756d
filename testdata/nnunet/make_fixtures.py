#!/usr/bin/python3
"""Writes the nnU-Net v2 fixtures that Suture's importer is tested against.

Run with Debian's python3-torch (no nnU-Net install needed):

    /usr/bin/python3 testdata/nnunet/make_fixtures.py

It defines PlainConvUNet and ResidualEncoderUNet (BasicBlockD blocks, stem)
in plain torch after dynamic_network_architectures (module names and
registration order as there, so the state-dict names are nnU-Net's,
all_modules aliases and the encoder repeated under decoder.encoder
included), gives them random weights (norm scales and biases too), and writes
for each of three tiny plans an nnU-Net results folder

    DatasetNNN_Name/nnUNetTrainer__nnUNetPlans__2d/
        plans.json, dataset.json, fold_0/checkpoint_final.pth

with the checkpoint dict nnU-Net's trainer saves (network_weights,
optimizer_state after one SGD step, grad_scaler_state, logging with numpy
floats, _best_ema, current_epoch, init_args with a torch.device,
trainer_name, inference_allowed_mirroring_axes), and reference outputs:
ref/NAME_inK.npy (NCHW float32 inputs) and ref/NAME_outK.npy,
ref/NAME_outK_dsJ.npy (the network's outputs, every deep-supervision head,
highest resolution first).

With --check-safetensors FILE NAME it instead loads FILE (written by
`suture export safetensors`) into the PyTorch network of fixture NAME with
load_state_dict(strict=True) and compares its outputs on NAME's reference
inputs with the reference outputs.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


def pad_of(k):
    return [(i - 1) // 2 for i in k]


class ConvDropoutNormReLU(nn.Module):
    def __init__(self, cin, cout, k, stride, bias, nonlin=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding=pad_of(k), dilation=1, bias=bias)
        ops = [self.conv]
        self.norm = nn.InstanceNorm2d(cout, eps=1e-5, affine=True)
        ops.append(self.norm)
        if nonlin:
            self.nonlin = nn.LeakyReLU(0.01, inplace=True)
            ops.append(self.nonlin)
        self.all_modules = nn.Sequential(*ops)

    def forward(self, x):
        return self.all_modules(x)


class StackedConvBlocks(nn.Module):
    def __init__(self, n, cin, cout, k, stride, bias):
        super().__init__()
        self.convs = nn.Sequential(
            ConvDropoutNormReLU(cin, cout, k, stride, bias),
            *[ConvDropoutNormReLU(cout, cout, k, 1, bias) for _ in range(1, n)])

    def forward(self, x):
        return self.convs(x)


class PlainConvEncoder(nn.Module):
    def __init__(self, a):
        super().__init__()
        stages = []
        cin = a["input_channels"]
        for s in range(a["n_stages"]):
            stages.append(nn.Sequential(StackedConvBlocks(
                a["n_conv_per_stage"][s], cin, a["features_per_stage"][s], a["kernel_sizes"][s],
                a["strides"][s], a["conv_bias"])))
            cin = a["features_per_stage"][s]
        self.stages = nn.Sequential(*stages)
        self.output_channels = a["features_per_stage"]
        self.strides = a["strides"]
        self.kernel_sizes = a["kernel_sizes"]
        self.conv_bias = a["conv_bias"]

    def forward(self, x):
        ret = []
        for s in self.stages:
            x = s(x)
            ret.append(x)
        return ret


class BasicBlockD(nn.Module):
    def __init__(self, cin, cout, k, stride, bias):
        super().__init__()
        self.conv1 = ConvDropoutNormReLU(cin, cout, k, stride, bias)
        self.conv2 = ConvDropoutNormReLU(cout, cout, k, 1, bias, nonlin=False)
        self.nonlin2 = nn.LeakyReLU(0.01, inplace=True)
        has_stride = any(i != 1 for i in stride)
        if has_stride or cin != cout:
            ops = []
            if has_stride:
                ops.append(nn.AvgPool2d(stride, stride))
            if cin != cout:
                ops.append(ConvDropoutNormReLU(cin, cout, [1, 1], 1, False, nonlin=False))
            self.skip = nn.Sequential(*ops)
        else:
            self.skip = lambda x: x

    def forward(self, x):
        r = self.skip(x)
        out = self.conv2(self.conv1(x))
        out += r
        return self.nonlin2(out)


class StackedResidualBlocks(nn.Module):
    def __init__(self, n, cin, cout, k, stride, bias):
        super().__init__()
        self.blocks = nn.Sequential(
            BasicBlockD(cin, cout, k, stride, bias),
            *[BasicBlockD(cout, cout, k, [1, 1], bias) for _ in range(1, n)])

    def forward(self, x):
        return self.blocks(x)


class ResidualEncoder(nn.Module):
    def __init__(self, a):
        super().__init__()
        stem = a.get("stem_channels") or a["features_per_stage"][0]
        self.stem = StackedConvBlocks(1, a["input_channels"], stem, a["kernel_sizes"][0], 1, a["conv_bias"])
        cin = stem
        stages = []
        for s in range(a["n_stages"]):
            stages.append(StackedResidualBlocks(a["n_blocks_per_stage"][s], cin, a["features_per_stage"][s],
                                                a["kernel_sizes"][s], a["strides"][s], a["conv_bias"]))
            cin = a["features_per_stage"][s]
        self.stages = nn.Sequential(*stages)
        self.output_channels = a["features_per_stage"]
        self.strides = a["strides"]
        self.kernel_sizes = a["kernel_sizes"]
        self.conv_bias = a["conv_bias"]

    def forward(self, x):
        x = self.stem(x)
        ret = []
        for s in self.stages:
            x = s(x)
            ret.append(x)
        return ret


class UNetDecoder(nn.Module):
    def __init__(self, encoder, num_classes, n_conv_per_stage, deep_supervision):
        super().__init__()
        self.deep_supervision = deep_supervision
        self.encoder = encoder
        n = len(encoder.output_channels)
        stages, transpconvs, seg_layers = [], [], []
        for s in range(1, n):
            below = encoder.output_channels[-s]
            skip = encoder.output_channels[-(s + 1)]
            st = encoder.strides[-s]
            transpconvs.append(nn.ConvTranspose2d(below, skip, st, st, bias=encoder.conv_bias))
            stages.append(StackedConvBlocks(n_conv_per_stage[s - 1], 2 * skip, skip,
                                            encoder.kernel_sizes[-(s + 1)], 1, encoder.conv_bias))
            seg_layers.append(nn.Conv2d(skip, num_classes, 1, 1, 0, bias=True))
        self.stages = nn.ModuleList(stages)
        self.transpconvs = nn.ModuleList(transpconvs)
        self.seg_layers = nn.ModuleList(seg_layers)

    def forward(self, skips):
        lres = skips[-1]
        outs = []
        for s in range(len(self.stages)):
            x = self.transpconvs[s](lres)
            x = torch.cat((x, skips[-(s + 2)]), 1)
            x = self.stages[s](x)
            if self.deep_supervision:
                outs.append(self.seg_layers[s](x))
            elif s == len(self.stages) - 1:
                outs.append(self.seg_layers[-1](x))
            lres = x
        outs = outs[::-1]
        return outs if self.deep_supervision else outs[0]


class PlainConvUNet(nn.Module):
    def __init__(self, a, num_classes, deep_supervision=True):
        super().__init__()
        self.encoder = PlainConvEncoder(a)
        self.decoder = UNetDecoder(self.encoder, num_classes, a["n_conv_per_stage_decoder"], deep_supervision)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ResidualEncoderUNet(nn.Module):
    def __init__(self, a, num_classes, deep_supervision=True):
        super().__init__()
        self.encoder = ResidualEncoder(a)
        self.decoder = UNetDecoder(self.encoder, num_classes, a["n_conv_per_stage_decoder"], deep_supervision)

    def forward(self, x):
        return self.decoder(self.encoder(x))


ARCH_COMMON = {
    "conv_op": "torch.nn.modules.conv.Conv2d",
    "conv_bias": True,
    "norm_op": "torch.nn.modules.instancenorm.InstanceNorm2d",
    "norm_op_kwargs": {"eps": 1e-05, "affine": True},
    "dropout_op": None,
    "dropout_op_kwargs": None,
    "nonlin": "torch.nn.LeakyReLU",
    "nonlin_kwargs": {"inplace": True},
}


def zscore_props(c):
    return {str(i): {"max": 255.0, "mean": 100.0 + 10 * i, "median": 98.0, "min": 0.0,
                     "percentile_00_5": 2.0, "percentile_99_5": 250.0, "std": 50.0 + i} for i in range(c)}


# name, dataset, class, arch kwargs, patch, labels, channel names, normalisation, inherit
FIXTURES = [
    dict(name="plain", dataset="Dataset991_TinyPlain", cls="PlainConvUNet",
         arch=dict(n_stages=4, features_per_stage=[4, 8, 16, 24], kernel_sizes=[[3, 3]] * 4,
                   strides=[[1, 1], [2, 2], [2, 2], [2, 2]], n_conv_per_stage=[2, 2, 2, 2],
                   n_conv_per_stage_decoder=[2, 2, 2]),
         patch=[32, 32], labels={"background": 0, "polyp": 1, "instrument": 2},
         channels={"0": "R", "1": "G", "2": "B"}, norm=["ZScoreNormalization"] * 3, inherit=False,
         inputs=[(1, 32, 32), (2, 48, 80)]),
    dict(name="plain5", dataset="Dataset992_TinyPlainWide", cls="PlainConvUNet",
         arch=dict(n_stages=5, features_per_stage=[6, 12, 24, 32, 32], kernel_sizes=[[3, 3]] * 4 + [[1, 3]],
                   strides=[[1, 1], [2, 2], [2, 2], [2, 2], [1, 2]], n_conv_per_stage=[2, 2, 2, 2, 2],
                   n_conv_per_stage_decoder=[2, 2, 2, 2]),
         patch=[48, 64], labels={"background": 0, "polyp": 1, "instrument": 2},
         channels={"0": "R", "1": "G", "2": "B"}, norm=["ZScoreNormalization"] * 3, inherit=True,
         inputs=[(1, 48, 64), (1, 40, 96)]),
    dict(name="resenc", dataset="Dataset993_TinyResEnc", cls="ResidualEncoderUNet",
         arch=dict(n_stages=4, features_per_stage=[4, 8, 16, 16], kernel_sizes=[[3, 3]] * 4,
                   strides=[[1, 1], [2, 2], [2, 2], [2, 2]], n_blocks_per_stage=[1, 2, 2, 2],
                   n_conv_per_stage_decoder=[1, 1, 1], stem_channels=6),
         patch=[32, 48], labels={"background": 0, "polyp": 1},
         channels={"0": "rgb_to_0_1", "1": "rgb_to_0_1", "2": "rgb_to_0_1"},
         norm=["RGBTo01Normalization"] * 3, inherit=False,
         inputs=[(1, 32, 48), (2, 64, 40)]),
]


def build(fx, deep_supervision=True):
    a = dict(ARCH_COMMON, **fx["arch"])
    a["input_channels"] = len(fx["channels"])
    k = len(fx["labels"])
    if fx["cls"] == "PlainConvUNet":
        return PlainConvUNet(a, k, deep_supervision)
    return ResidualEncoderUNet(a, k, deep_supervision)


def randomise(net, gen):
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / fan_in) ** 0.5)


def plans_for(fx):
    arch_kwargs = dict(ARCH_COMMON)
    arch_kwargs.update({k: v for k, v in fx["arch"].items()})
    module = "dynamic_network_architectures.architectures.unet."
    config = {
        "data_identifier": "nnUNetPlans_2d",
        "preprocessor_name": "DefaultPreprocessor",
        "batch_size": 12,
        "patch_size": fx["patch"],
        "median_image_size_in_voxels": [fx["patch"][0] * 4, fx["patch"][1] * 4],
        "spacing": [1.0, 1.0],
        "normalization_schemes": fx["norm"],
        "use_mask_for_norm": [False] * len(fx["norm"]),
        "resampling_fn_data": "resample_data_or_seg_to_shape",
        "resampling_fn_seg": "resample_data_or_seg_to_shape",
        "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
        "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
        "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
        "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
        "architecture": {
            "network_class_name": module + fx["cls"],
            "arch_kwargs": arch_kwargs,
            "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"],
        },
        "batch_dice": True,
    }
    if fx["inherit"]:
        base = {k: v for k, v in config.items() if k not in ("patch_size", "architecture")}
        base["patch_size"] = [16, 16]  # overridden by the child
        configs = {"2d_base": base, "2d": {"inherits_from": "2d_base", "patch_size": fx["patch"],
                                           "architecture": config["architecture"]}}
    else:
        configs = {"2d": config}
    return {
        "dataset_name": fx["dataset"],
        "plans_name": "nnUNetPlans",
        "original_median_spacing_after_transp": [999.0, 1.0, 1.0],
        "original_median_shape_after_transp": [1, fx["patch"][0] * 4, fx["patch"][1] * 4],
        "image_reader_writer": "NaturalImage2DIO",
        "transpose_forward": [0, 1, 2],
        "transpose_backward": [0, 1, 2],
        "configurations": configs,
        "experiment_planner_used": "ExperimentPlanner",
        "label_manager": "LabelManager",
        "foreground_intensity_properties_per_channel": zscore_props(len(fx["channels"])),
    }


def dataset_for(fx):
    return {"channel_names": fx["channels"], "labels": fx["labels"], "numTraining": 20, "file_ending": ".png",
            "name": fx["dataset"]}


def out_names(name, k, n):
    return [f"{name}_out{k}.npy"] + [f"{name}_out{k}_ds{j}.npy" for j in range(1, n)]


def write(fx, gen):
    net = build(fx)
    randomise(net, gen)
    net.eval()
    folder = os.path.join(HERE, fx["dataset"], "nnUNetTrainer__nnUNetPlans__2d")
    os.makedirs(os.path.join(folder, "fold_0"), exist_ok=True)
    plans, ds = plans_for(fx), dataset_for(fx)
    with open(os.path.join(folder, "plans.json"), "w") as f:
        json.dump(plans, f, indent=4)
    with open(os.path.join(folder, "dataset.json"), "w") as f:
        json.dump(ds, f, indent=4)
    # One SGD step so optimizer_state holds momentum buffers, as a trained checkpoint does.
    opt = torch.optim.SGD(net.parameters(), lr=1e-9, momentum=0.99, nesterov=True, weight_decay=3e-5)
    x = torch.randn(1, len(fx["channels"]), *fx["patch"], generator=gen)
    loss = sum(o.float().pow(2).mean() for o in net(x))
    loss.backward()
    saved = {k: v.clone() for k, v in net.state_dict().items()}
    opt.step()  # lr 1e-9: weights move, so keep the pre-step copy and restore it
    net.load_state_dict(saved)
    ckpt = {
        "network_weights": net.state_dict(),
        "optimizer_state": opt.state_dict(),
        "grad_scaler_state": None,
        "logging": {"mean_fg_dice": [np.float64(0.5), np.float64(0.61)], "ema_fg_dice": [0.5, 0.51],
                    "dice_per_class_or_region": [[np.float64(0.4)] * (len(fx["labels"]) - 1)],
                    "train_losses": [np.float32(-0.2), np.float32(-0.3)], "val_losses": [-0.1, -0.2],
                    "lrs": [0.01, 0.0099], "epoch_start_timestamps": [1.0, 2.0],
                    "epoch_end_timestamps": [1.5, 2.5]},
        "_best_ema": np.float64(0.51),
        "current_epoch": 2,
        "init_args": {"plans": plans, "configuration": "2d", "fold": 0, "dataset_json": ds,
                      "device": torch.device("cpu")},
        "trainer_name": "nnUNetTrainer",
        "inference_allowed_mirroring_axes": (0, 1),
    }
    torch.save(ckpt, os.path.join(folder, "fold_0", "checkpoint_final.pth"))
    ref = os.path.join(HERE, "ref")
    os.makedirs(ref, exist_ok=True)
    with torch.no_grad():
        for k, (n, h, w) in enumerate(fx["inputs"]):
            xin = torch.randn(n, len(fx["channels"]), h, w, generator=gen)
            np.save(os.path.join(ref, f"{fx['name']}_in{k}.npy"), xin.numpy().astype(np.float32))
            outs = net(xin)
            for fn, o in zip(out_names(fx["name"], k, len(outs)), outs):
                np.save(os.path.join(ref, fn), o.numpy().astype(np.float32))
    print(f"{fx['name']}: {len(net.state_dict())} state-dict keys, "
          f"{len({v.data_ptr() for v in net.state_dict().values()})} unique tensors -> {folder}")


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", v
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy().reshape(v["shape"]))
    return out, header.get("__metadata__", {})


def check_safetensors(path, name):
    fx = [f for f in FIXTURES if f["name"] == name][0]
    net = build(fx)
    sd, meta = read_safetensors(path)
    res = net.load_state_dict(sd, strict=True)
    net.eval()
    worst = 0.0
    with torch.no_grad():
        for k, _ in enumerate(fx["inputs"]):
            xin = torch.from_numpy(np.load(os.path.join(HERE, "ref", f"{name}_in{k}.npy")))
            outs = net(xin)
            for fn, o in zip(out_names(name, k, len(outs)), outs):
                want = np.load(os.path.join(HERE, "ref", fn))
                worst = max(worst, float(np.abs(o.numpy() - want).max()))
    print(f"{path}: load_state_dict(strict=True) -> {res}; {len(sd)} tensors; metadata keys {sorted(meta)}; "
          f"max abs difference to the reference outputs {worst:.3g}")
    return worst


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check-safetensors":
        sys.exit(0 if check_safetensors(sys.argv[2], sys.argv[3]) <= 1e-4 else 1)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(2026)
    for fx in FIXTURES:
        write(fx, gen)
