"""``power`` and ``calibration``: every numeric flag is checked for range and finiteness, and
bad values are one ``error:`` line with exit code 2, never a table of NaN."""

import math

import pytest
from scipy.stats import norm

from gluebench.analysis import power
from gluebench.benchmark.tasks import get_task


@pytest.mark.parametrize("baseline", ["150", "nan", "inf", "-inf", "-5", "0", "100", "8O"])
def test_a_baseline_outside_0_to_100_is_one_error_line(run_cli, baseline):
    code, out, err = run_cli("power", f"--baseline={baseline}")
    assert code == 2 and out == "", out
    assert err.count("\n") == 1 and err.startswith("error: gluebench power: argument "
                                                   "--baseline: expected an accuracy in points")
    assert f"'{baseline}'" in err


def test_the_library_refuses_it_too():
    for bad in (150, math.nan, math.inf, 0, 100, -1):
        with pytest.raises(ValueError, match="strictly between 0 and 100"):
            power.official_sizes_power(bad)
        with pytest.raises(ValueError, match="strictly between 0 and 100"):
            power.accuracy_mdd(bad, 277)
    with pytest.raises(ValueError, match="at least one example"):
        power.accuracy_se(80, 0)
    with pytest.raises(ValueError, match="alpha"):
        power.accuracy_mdd(80, 277, alpha=1.5)


def test_a_valid_baseline_gives_the_binomial_mdd(run_cli, tmp_path):
    code, out, err = run_cli("power", "--baseline", "80", "--json", tmp_path / "p.json")
    assert code == 0, err
    rte = power.official_sizes_power(80)["power"]["entries"]["RTE"]
    n = get_task("RTE").files["dev"].size
    z = norm.ppf(0.975) + norm.ppf(0.8)
    assert rte["mdd"] == pytest.approx(z * math.sqrt(2) * 100 * math.sqrt(0.8 * 0.2 / n))
    assert math.isfinite(rte["mdd"]) and "RTE" in out


def test_a_run_and_a_baseline_together_are_refused(run_cli, tmp_path):
    code, _, err = run_cli("power", tmp_path, "--baseline", "80")
    assert code == 2 and err.count("\n") == 1 and "one of the two" in err


@pytest.mark.parametrize("args, flag", [
    (("calibration", "RUN", "--bins", "1001"), "--bins"),
    (("calibration", "RUN", "--bins", "10.5"), "--bins"),
    (("calibration", "RUN", "--resamples", "1000000000000"), "--resamples"),
    (("calibration", "RUN", "--resamples", "nan"), "--resamples"),
    (("power", "RUN", "--resamples", "100001"), "--resamples"),
    (("power", "--baseline", "80", "--seed", "-1"), "--seed"),
])
def test_other_numeric_flags_are_bounded(run_cli, tmp_path, args, flag):
    # Checked before the run folder is read: the flag is named, not the missing folder.
    code, _, err = run_cli(*[str(tmp_path / "run") if a == "RUN" else a for a in args])
    assert code == 2 and err.count("\n") == 1 and f"argument {flag}:" in err, err
