"""`ganpipe seeds`: experiments that differ only in seeds summarised as mean ± spread."""
import statistics

import pytest

from ganpipe import seeds


def rev(name, *, seed, epochs, fid, modes, best_step=1000, anime_seed=0):
    params = {"params.yaml": {"data": {"train": {"mnist": {"seed": seed, "epochs": epochs, "lr": 2e-4},
                                                  "anime": {"seed": anime_seed}}}}}
    metrics = {"reports/mnist/quality.json": {"data": {"domain_fid": fid, "modes": modes}},
               "reports/mnist/metrics.json": {"data": {"g_loss": 1.0 + seed, "best_step": best_step}},
               "reports/mnist/timing.json": {"data": {"steps_per_s": 100.0 + seed}}}
    return {"rev": f"{seed:040d}", "name": name, "data": {"params": params, "metrics": metrics}}


def exp_show():
    """`dvc exp show --json`'s shape: the workspace and commits, each with its experiments' revs."""
    workspace = rev(None, seed=0, epochs=10000, fid=6.2, modes=10)
    workspace["rev"] = "workspace"
    head = rev(None, seed=0, epochs=10000, fid=6.2, modes=10)
    head["experiments"] = [{"revs": [rev(f"s{s}", seed=s, epochs=10000, fid=f, modes=10, best_step=b)]}
                           for s, f, b in ((1, 5.5, 9000), (2, 6.7, 10000))]
    head["experiments"] += [{"revs": [rev("short", seed=1, epochs=3000, fid=20.0, modes=9)]}]
    return [workspace, head]


def test_rows_keep_headline_metrics_and_params_flattened():
    rows = seeds.parse_exp_show(exp_show())
    assert [r.name for r in rows] == ["workspace", "0000000", "s1", "s2", "short"]
    assert rows[2].params["train.mnist.seed"] == 1 and rows[2].params["train.mnist.epochs"] == 10000
    # quality.json's numbers and the winning step; not the final losses, not the timings
    assert rows[2].metrics == {"mnist/domain_fid": 5.5, "mnist/modes": 10.0, "mnist/best_step": 9000.0}


def test_groups_set_seeds_aside_and_give_mean_and_spread():
    groups = seeds.group_by_settings(seeds.parse_exp_show(exp_show()))
    assert [len(g.names) for g in groups] == [3, 1]  # HEAD (the clean workspace repeats it), s1, s2 | short
    assert seeds.differing(groups) == ["train.mnist.epochs"]
    fids = groups[0].values["mnist/domain_fid"]
    assert fids == [6.2, 5.5, 6.7]
    text = seeds.render(groups, min_seeds=2)
    assert "## Group 1: train.mnist.epochs=10000" in text and "short" not in text
    mean, std = statistics.fmean(fids), statistics.stdev(fids)
    assert f"| mnist/domain_fid | {mean:.4g} ± {std:.2g} (5.5–6.7) | 3 |" in text
    assert "3 runs: 0000000 (train.mnist.seed=0); s1 (train.mnist.seed=1); s2 (train.mnist.seed=2)" in text
    assert "| mnist/modes | 10 ± 0 (10–10) | 3 |" in text


def test_a_changed_workspace_is_a_run_of_its_own():
    entries = exp_show()
    entries[0]["data"]["metrics"]["reports/mnist/quality.json"]["data"]["domain_fid"] = 7.0
    groups = seeds.group_by_settings(seeds.parse_exp_show(entries))
    assert groups[0].names[:2] == ["workspace", "0000000"] and groups[0].values["mnist/domain_fid"][0] == 7.0


def test_only_the_reseeded_runs_metrics_are_summarised():
    entries = exp_show()
    anime = {"reports/anime/quality.json": {"data": {"face_fid": 92.0}}}
    for entry in [entries[1]] + [exp["revs"][0] for exp in entries[1]["experiments"]]:
        entry["data"]["metrics"].update(anime)
    text = seeds.render(seeds.group_by_settings(seeds.parse_exp_show(entries)), min_seeds=2)
    assert "mnist/domain_fid" in text and "anime/face_fid" not in text  # only train.mnist.seed varies


def test_too_few_seeds_says_so():
    groups = seeds.group_by_settings(seeds.parse_exp_show(exp_show())[-1:])
    assert seeds.render(groups, min_seeds=2).startswith("No group of experiments with at least 2 seeds")


@pytest.mark.parametrize("values, shown", [([3.0], "3"), ([float("nan")], "–"), ([1.0, 3.0], "2 ± 1.4 (1–3)"),
                                           ([10000.0, 9000.0], "9500 ± 7.1e+02 (9000–10000)")])
def test_spread(values, shown):
    assert seeds.spread(values) == shown


def test_a_runs_own_noise_is_not_summarised_over_seeds():
    from ganpipe.seeds import metric_name

    assert metric_name("reports/mnist/quality.json", "domain_fid") == "mnist/domain_fid"
    assert metric_name("reports/mnist/quality.json", "domain_fid_std") is None
