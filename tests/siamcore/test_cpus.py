"""CPU count and OpenMP waiting: the user's settings win, and each package settles it before torch loads."""

import os
import subprocess
import sys

import pytest

from siamcore.cpus import choose_openmp_waiting, usable_cpus


def test_usable_cpus_counts_the_affinity_mask_not_the_machine():
    cpus = usable_cpus()
    assert 1 <= cpus <= len(os.sched_getaffinity(0)) <= (os.cpu_count() or cpus)


@pytest.mark.parametrize("passive, expected", [(True, {"OMP_WAIT_POLICY": "PASSIVE"}),
                                               (False, {"GOMP_SPINCOUNT": "300000"})])
def test_choose_openmp_waiting_sets_the_policy_when_none_is_given(passive, expected):
    env = {"PATH": "/bin"}
    assert choose_openmp_waiting(passive, env) is True
    assert env == {"PATH": "/bin", **expected}


@pytest.mark.parametrize("user", [{"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "10"}])
@pytest.mark.parametrize("passive", [True, False])
def test_the_users_own_openmp_waiting_wins(user, passive):
    env = dict(user)
    assert choose_openmp_waiting(passive, env) is False
    assert env == user


def _policy_after_import(statement: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = (f"{statement}; import os, sys; "
            "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'), 'torch' in sys.modules)")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.split()


def test_the_tracker_asks_for_passive_waiting_before_torch_is_loaded():
    # the package itself does not import torch, so the policy is in place when torch's libgomp loads
    assert _policy_after_import("import tracker") == ["PASSIVE", "None", "False"]


def test_the_trainer_keeps_spinning_whatever_is_imported_next():
    assert _policy_after_import("import trainer; import tracker") == ["None", "300000", "False"]
