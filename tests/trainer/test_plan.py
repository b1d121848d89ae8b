import numpy as np
import pytest

from trainer.plan import (
    pick_exemplars,
    folder_sample_counts,
    make_catalog,
    plan_epoch,
    read_blocks,
    select_epoch_rows,
    shuffle_buffer_order,
    stable_fraction,
)


def _catalog(units_per_folder=(10, 5), rows_per_unit=4, shards_per_folder=3):
    folder, shard, key, unit = [], [], [], []
    u = 0
    for f, n_units in enumerate(units_per_folder):
        for i in range(n_units):
            for r in range(rows_per_unit):
                folder.append(f)
                shard.append(f * shards_per_folder + i % shards_per_folder)
                key.append(f"f{f}/u{i:03d}/{r}")
                unit.append(u)
            u += 1
    perm = np.random.default_rng(9).permutation(len(key))  # any input order
    return make_catalog(*(np.asarray(a, dtype=object if a is key else None)[perm] for a in (folder, shard, key, unit)))


def test_catalog_is_in_shard_key_order_and_groups_units():
    cat = _catalog()
    order = sorted(range(len(cat)), key=lambda i: (cat.shard[i], cat.key[i]))
    assert order == list(range(len(cat)))
    for u in range(cat.num_units):
        rows = cat.order[cat.unit_start[u] : cat.unit_start[u] + cat.unit_count[u]]
        assert len({k.rsplit("/", 1)[0] for k in cat.key[rows]}) == 1 and cat.unit_count[u] == 4


def test_one_pair_per_sequence_and_weights():
    cat = _catalog()
    rows = select_epoch_rows(cat, 2, [], 0, seed=1, epoch=0)
    assert len(rows) == 15 and sorted(cat.unit[rows].tolist()) == list(range(15))
    assert np.all(np.diff(rows) >= 0)  # read order
    rows2 = select_epoch_rows(cat, 2, [2.0, 0.0], 0, seed=1, epoch=0)
    units, counts = np.unique(cat.unit[rows2], return_counts=True)
    assert len(rows2) == 20 and (counts == 2).all() and (cat.folder[rows2] == 0).all()
    assert folder_sample_counts([10, 5], [1, 3], 8).tolist() == [2, 6]
    assert folder_sample_counts([10, 0], [1, 3], 8).tolist() == [8, 0]  # an empty folder gets nothing


def test_epochs_differ_and_repeat_for_same_seed():
    cat = _catalog()
    a = plan_epoch(cat, 2, [], 0, seed=3, epoch=0, rank=0, world=1, batch_size=2, block_size=2, buffer=4)
    b = plan_epoch(cat, 2, [], 0, seed=3, epoch=0, rank=0, world=1, batch_size=2, block_size=2, buffer=4)
    c = plan_epoch(cat, 2, [], 0, seed=3, epoch=1, rank=0, world=1, batch_size=2, block_size=2, buffer=4)
    assert np.array_equal(a.rows, b.rows) and np.array_equal(a.positions, b.positions)
    assert not np.array_equal(a.rows, c.rows)
    assert a.num_batches == 7  # 15 pairs, whole batches of 2


def test_blocks_stay_within_one_shard():
    cat = _catalog(rows_per_unit=1)
    rows = select_epoch_rows(cat, 2, [], 0, seed=0, epoch=0)
    blocks = read_blocks(rows, cat.shard, 3, seed=0, epoch=0)
    assert sorted(np.concatenate(blocks).tolist()) == rows.tolist()
    for b in blocks:
        assert len(b) <= 3 and len(set(cat.shard[b].tolist())) == 1 and np.all(np.diff(b) > 0)


@pytest.mark.parametrize("world", [2, 3])
def test_ranks_do_not_overlap_and_have_equal_batches(world):
    cat = _catalog(units_per_folder=(40, 17))
    plans = [plan_epoch(cat, 2, [], 100, 0, 0, r, world, batch_size=4, block_size=5, buffer=8) for r in range(world)]
    pos = [set(p.positions.tolist()) for p in plans]
    assert all(len(p.positions) == len(pos[i]) for i, p in enumerate(plans))
    for i in range(world):
        for j in range(i + 1, world):
            assert not pos[i] & pos[j]
    assert len({p.num_batches for p in plans}) == 1 and plans[0].num_batches > 0
    assert sum(len(p) for p in pos) > 100 - world * (5 + 4)  # little is dropped


def test_worker_batches_cover_each_batch_once_from_any_start():
    cat = _catalog()
    plan = plan_epoch(cat, 2, [], 30, 0, 0, 0, 1, batch_size=3, block_size=4, buffer=6)
    for workers in (1, 2, 3):
        for start in (0, 4):
            got = sorted(j for w in range(workers) for j in plan.worker_batches(start, w, workers))
            assert got == list(range(start, plan.num_batches))
    # The DataLoader returns batch i from worker (i - start) % W: the same sequence for every W.
    w2 = [plan.worker_batches(4, w, 2) for w in range(2)]
    assert [w2[(i - 4) % 2][(i - 4) // 2] for i in range(4, plan.num_batches)] == list(range(4, plan.num_batches))


def test_shuffle_buffer_is_a_bounded_permutation():
    rng = np.random.default_rng(0)
    out = shuffle_buffer_order(100, 8, rng)
    assert sorted(out.tolist()) == list(range(100))
    assert np.all(out < np.arange(100) + 8)
    assert not np.array_equal(out, np.arange(100))
    assert shuffle_buffer_order(3, 10, rng).tolist() != [] and len(shuffle_buffer_order(0, 4, rng)) == 0


def test_stable_fraction_is_fixed():
    assert stable_fraction("vid/a") == stable_fraction("vid/a") and 0 <= stable_fraction("x") < 1
    assert abs(np.mean([stable_fraction(f"s{i}") for i in range(2000)]) - 0.5) < 0.05


def _catalog_with_negatives(units=6, rows_per_unit=5):
    folder, shard, key, unit, negative = [], [], [], [], []
    for u in range(units):
        for r in range(rows_per_unit):
            folder.append(0)
            shard.append(u % 2)
            key.append(f"u{u}/{r}")
            unit.append(u)
            negative.append(r == 0)  # each unit's first record is a stored negative pair
    return make_catalog(folder, shard, key, unit, negative)


def test_pick_exemplars_without_repairing_keeps_the_stored_pairs():
    cat = _catalog_with_negatives()
    rows = np.arange(len(cat))
    ex, neg = pick_exemplars(cat, rows, 0.0, 0.0, seed=0, epoch=0)
    assert np.array_equal(ex, rows) and np.array_equal(neg, cat.negative)


def test_pick_exemplars_pairs_within_and_across_targets():
    cat = _catalog_with_negatives()
    rows = np.repeat(np.arange(len(cat)), 40)
    ex, neg = pick_exemplars(cat, rows, 0.6, 0.3, seed=1, epoch=2)
    # A lent exemplar always shows its unit's own target: never from a stored negative record.
    lent = ex != rows
    assert not cat.negative[ex[lent]].any()
    same = cat.unit[ex] == cat.unit[rows]
    assert np.array_equal(neg[lent], ~same[lent])  # another target's exemplar <=> a negative pair
    assert np.array_equal(neg[~lent], cat.negative[rows[~lent]])  # a kept pair keeps its own flag
    # The probabilities hold roughly (1200 draws): negatives 0.3 + 0.1 x 0.2 kept stored negatives,
    # same-target positives 0.6 + 0.1 x 0.8 kept stored positives; every other target lends.
    assert 0.27 < np.mean(neg) < 0.37 and 0.62 < np.mean(same & ~neg) < 0.74
    assert set(cat.unit[ex[neg & lent]].tolist()) == set(range(6))
    again, _ = pick_exemplars(cat, rows, 0.6, 0.3, seed=1, epoch=2)
    other_epoch, _ = pick_exemplars(cat, rows, 0.6, 0.3, seed=1, epoch=3)
    assert np.array_equal(ex, again) and not np.array_equal(ex, other_epoch)


def test_a_target_without_positive_records_keeps_its_own_exemplar():
    cat = make_catalog([0, 0, 0], [0, 0, 0], ["a/0", "b/0", "b/1"], [0, 1, 1], [True, False, False])
    rows = np.zeros(50, dtype=np.int64)  # unit 0 has only a stored negative: nothing to lend to itself
    ex, neg = pick_exemplars(cat, rows, 1.0, 0.0, seed=0, epoch=0)
    assert (ex == 0).all() and neg.all()
    ex, neg = pick_exemplars(cat, np.array([1] * 50), 0.0, 1.0, seed=0, epoch=0)
    assert np.array_equal(ex, np.ones(50)) and not neg.any()  # no other target can lend: keep own


def test_plans_carry_exemplars_and_agree_across_ranks():
    cat = _catalog_with_negatives(units=8)
    args = dict(num_folders=1, weights=[], samples_per_epoch=80, seed=5, epoch=1, batch_size=4, block_size=4,
                buffer=8, same_sequence_p=0.5, other_sequence_p=0.25)
    single = plan_epoch(cat, rank=0, world=1, **args)
    rows, ex, neg, pos = single.batch(0)
    assert len(rows) == len(ex) == len(neg) == len(pos) == 4
    split = [plan_epoch(cat, rank=r, world=2, **args) for r in range(2)]
    by_position = {int(p): (int(r), int(e), bool(n)) for p, r, e, n in
                   zip(single.positions, single.rows, single.exemplar_rows, single.negative)}
    for plan in split:  # the same position gets the same exemplar on whichever rank reads it
        for p, r, e, n in zip(plan.positions, plan.rows, plan.exemplar_rows, plan.negative):
            assert by_position[int(p)] == (int(r), int(e), bool(n))


@pytest.mark.parametrize("world", [1, 2])
def test_fewer_sequences_than_a_batch_cycle_them(world):
    """3 sequences, batch 4 (the seed's epoch: one pair per sequence): the epoch cycles the sequences to
    fill one whole batch per rank (each sequence before any twice), the same for the same seed and
    epoch, with no position on two ranks and the same number of batches on every rank."""
    cat = _catalog(units_per_folder=(3,), rows_per_unit=2, shards_per_folder=1)
    args = dict(num_folders=1, weights=[], samples_per_epoch=0, seed=2, epoch=0, world=world, batch_size=4)
    plans = [plan_epoch(cat, rank=r, **args) for r in range(world)]
    assert [p.num_batches for p in plans] == [1] * world
    units = np.concatenate([cat.unit[p.rows] for p in plans])
    assert len(units) == 4 * world and set(units.tolist()) == {0, 1, 2}
    assert np.bincount(units).max() - np.bincount(units).min() <= 1  # every sequence once before any twice
    positions = np.concatenate([p.positions for p in plans])
    assert len(set(positions.tolist())) == len(positions)
    again = plan_epoch(cat, rank=0, **args)
    assert np.array_equal(again.rows, plans[0].rows) and np.array_equal(again.positions, plans[0].positions)
    # A larger catalog is not touched: one pair per sequence, as before.
    assert len(select_epoch_rows(cat, 1, [], 0, seed=2, epoch=0)) == 3
