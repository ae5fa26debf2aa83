"""Runs in a child process for tests/test_population.py with LAMINA_CPU_DEVICES=2 (the parent keeps one CPU
device): a Population split over both devices against each member's lone fit. Prints "ok" at the end.

    python tests/population_child.py
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding, PartitionSpec  # noqa: E402

import lamina as keras  # noqa: E402
from lamina.backend import programs  # noqa: E402
from lamina.tuners import Population  # noqa: E402
from lamina.tuners.population import member_mesh  # noqa: E402
from tests.test_population import TRIALS, XV, YV, _assert_same_training, _build, _fit  # noqa: E402


def main():
    devices = jax.local_devices(backend="cpu")
    assert len(devices) == 2, devices
    assert member_mesh(3) is None  # no even split over two devices: one device
    assert member_mesh(4).shape == {"members": 2}
    with keras.distribution.DataParallel(devices=devices).scope():
        assert member_mesh(4) is None  # the user's distribution decides where programs run
    # a program for arguments spread over devices is keyed by the devices in order (a sharding's text names none)
    backward = NamedSharding(Mesh(np.array(devices[::-1]), ("members",)), PartitionSpec("members"))
    assert str(backward) == str(NamedSharding(member_mesh(4), PartitionSpec("members")))
    assert programs._device_ids(backward) == [devices[1].id, devices[0].id]

    trials = TRIALS["adam"] + [dict(seed=6, optimizer=lambda: keras.optimizers.Adam(0.005), rate=0.2, l2=0.004)]
    alone = _build(trials)
    for model in alone:
        _fit(model.fit, validation_data=(XV, YV))
    together = _build(trials)
    population = Population(together)
    histories = _fit(population.fit, validation_data=(XV, YV))
    _assert_same_training(alone, together, histories)
    names = [name for name in together[0]._engine.programs if "population" in str(name)]
    assert names and all(("members over devices", 2) in name for name in names), names
    for model, result in zip(together, population.evaluate(XV, YV, batch_size=4)):
        np.testing.assert_allclose(result, model.evaluate(XV, YV, batch_size=4, verbose=0), rtol=1e-5)
    for model, out in zip(together, population.predict(XV, batch_size=4)):
        np.testing.assert_allclose(out, model.predict(XV, batch_size=4, verbose=0), rtol=1e-5, atol=1e-7)
    assert all(len(v.value.sharding.device_set) == 1 for m in together for v in m.weights)  # back on one device

    compiled, loaded = programs.counts["compiled"], programs.counts["loaded"]
    again = _build(trials)
    _fit(Population(again).fit, validation_data=(XV, YV))
    assert programs.counts["compiled"] == compiled, programs.counts  # found in memory by key
    assert programs.counts["loaded"] == loaded, programs.counts
    for a, b in zip(together, again):
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(wa, wb)

    # as a new process would: the programs for both devices are loaded from the folder, onto them in order
    programs._shared.clear()
    again = _build(trials)
    _fit(Population(again).fit, validation_data=(XV, YV))
    assert programs.counts["compiled"] == compiled, programs.counts
    assert programs.counts["loaded"] > loaded, programs.counts
    for a, b in zip(together, again):
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(wa, wb)

    # with nothing between epochs, blocks of epochs run in one call on both devices
    plain = _build(trials)
    for model in plain:
        _fit(model.fit, epochs=4)
    blocks = _build(trials)
    _assert_same_training(plain, blocks, _fit(Population(blocks).fit, epochs=4))
    names = [name for name in blocks[0]._engine.programs if "population" in str(name)]
    assert names and all("epochs" in name and ("members over devices", 2) in name for name in names), names

    # an odd count trains on one device, as alone
    odd = _build(TRIALS["adam"])
    odd_histories = _fit(Population(odd).fit, validation_data=(XV, YV))
    _assert_same_training(alone[:3], odd, odd_histories)
    print("ok")


if __name__ == "__main__":
    main()
