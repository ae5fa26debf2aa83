"""The same fit on one device and on a device mesh (`DataParallel`), with both learning curves.

    python examples/distributed_data_parallel.py [--quick] [--out FOLDER] [--devices N]

Run as a script on a machine without several accelerators, it asks XLA for N CPU devices
(`--xla_force_host_platform_device_count`, default 4) so the mesh is real; on a machine with GPUs it
uses them. Each batch is split along the batch axis over the mesh, the weights are replicated, and the
losses equal the one-device run's (the picture shows both curves on top of each other). Several
machines: see the README section "Training on several devices and machines".
"""

import os
import sys

import _common


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv,
                             extend=lambda p: p.add_argument("--devices", type=int, default=4,
                                                             help="CPU devices to ask XLA for (script runs only)"))
    import numpy as np

    import lamina as keras
    from lamina.datasets import pima_indians_diabetes

    devices = keras.distribution.list_devices()
    _common.section(f"{len(devices)} device(s): {', '.join(str(d) for d in devices[:8])}")
    if len(devices) == 1:
        print("Only one device here: the mesh has one device (run this file as a script for a CPU mesh).")
    (x, y), _ = pima_indians_diabetes.load_data()
    epochs = 3 if args.quick else 40

    def build():
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(12, activation="relu"),
                                  keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
        return model

    print(f"One device: {epochs} epochs, batch 32 ...")
    single = build().fit(x, y, epochs=epochs, batch_size=32, shuffle=False, verbose=0)
    mesh = keras.distribution.DeviceMesh((len(devices),), ["batch"], devices)
    distribution = keras.distribution.DataParallel(device_mesh=mesh)
    print(f"DataParallel over {len(devices)} device(s): the same fit ...")
    with distribution.scope():
        model = build()
        kernel = model.layers[0].kernel.value
        print(f"  the first kernel lives on {len(kernel.sharding.device_set)} device(s), replicated")
        spread = model.fit(x, y, epochs=epochs, batch_size=32, shuffle=False, verbose=0)
    gap = float(np.max(np.abs(np.array(single.history["loss"]) - np.array(spread.history["loss"]))))
    print(f"Largest loss difference between the two runs: {gap:.2e}")
    from lamina.utils import plotting

    fig, ax = plotting.figure(title="The same fit on one device and on a mesh")
    epochs_axis = np.arange(1, epochs + 1)
    ax.plot(epochs_axis, single.history["loss"], color=plotting.COLORS[0], linewidth=4, alpha=0.5,
            label="one device")
    ax.plot(epochs_axis, spread.history["loss"], color=plotting.COLORS[1], marker="o", linestyle="--",
            label=f"DataParallel, {len(devices)} device(s)")
    plotting.style(ax, xlabel="epoch", ylabel="training loss", legend=True)
    path = plotting.save(fig, _common.picture(args, "data_parallel_losses.png"))
    return {"history": spread.history, "gap": gap,
            "pictures": [_common.wrote(path, "both loss curves, one on top of the other")]}


if __name__ == "__main__":
    if "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        count = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--devices=")), None)
        if count is None and "--devices" in sys.argv:
            count = int(sys.argv[sys.argv.index("--devices") + 1])
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   f" --xla_force_host_platform_device_count={count or 4}").strip()
    main()
