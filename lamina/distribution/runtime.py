"""`initialize`: join a multi-process job through `jax.distributed` (Keras's `keras.distribution.initialize`)."""

import os

import jax
import numpy as np

from lamina.backend import random as backend_random


def initialize(job_addresses=None, num_processes=None, process_id=None):
    """Join the job: call it first in every process, before any computation.

    Args:
        job_addresses: "host:port" of process 0 (the coordinator), or all processes' addresses comma
            separated (the first is the coordinator). Default: `$KERAS_DISTRIBUTION_JOB_ADDRESSES`.
        num_processes: how many processes the job has. Default: `$KERAS_DISTRIBUTION_NUM_PROCESSES`.
        process_id: this process's index, 0 .. num_processes - 1. Default: `$KERAS_DISTRIBUTION_PROCESS_ID`.

    On clusters JAX detects (Slurm, Cloud TPU) all three may stay None. Afterwards every process
    agrees on one random seed (process 0's, unless `set_random_seed` was called), so the models each
    process builds start from the same weights, as Keras does.
    """
    env = os.environ
    if job_addresses is None:
        job_addresses = env.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    if num_processes is None and "KERAS_DISTRIBUTION_NUM_PROCESSES" in env:
        num_processes = int(env["KERAS_DISTRIBUTION_NUM_PROCESSES"])
    if process_id is None and "KERAS_DISTRIBUTION_PROCESS_ID" in env:
        process_id = int(env["KERAS_DISTRIBUTION_PROCESS_ID"])
    coordinator = job_addresses
    if job_addresses and "," in job_addresses:
        addresses = [a.strip() for a in job_addresses.split(",")]
        if num_processes is not None and num_processes != len(addresses):
            raise ValueError(f"initialize: job_addresses lists {len(addresses)} jobs ({addresses}) but "
                             f"num_processes is {num_processes}.")
        coordinator = addresses[0]
    if process_id is not None and num_processes is not None and not 0 <= process_id < num_processes:
        raise ValueError(f"initialize: process_id must be in 0..{num_processes - 1}, got {process_id}.")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)
    _agree_on_seed()


def _agree_on_seed():
    """Every process takes process 0's global seed (unless the user seeded lamina already)."""
    if jax.process_count() == 1 or backend_random._state["seed"] is not None:
        return
    from jax.experimental import multihost_utils

    seed = multihost_utils.broadcast_one_to_all(np.int32(backend_random.global_seed() % (2**31 - 1)))
    backend_random.set_random_seed(int(seed))


def num_processes():
    return jax.process_count()


def process_id():
    return jax.process_index()
