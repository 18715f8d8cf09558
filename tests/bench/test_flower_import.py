"""secagg.bench.flower without Flower installed: the import works, the comparison raises."""

import subprocess
import sys

import pytest

from secagg.bench import flower

INSTALL_MESSAGE = ("Flower is not installed; install it in an environment of its own, as the "
                   "README's Benchmarks section shows: pip install -e \".[test,plots,he,flower]\"")


def test_import_without_flwr():
    # A None entry in sys.modules makes every `import flwr` fail, installed or not.
    code = "import sys; sys.modules['flwr'] = None; import secagg.bench.flower"

    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert completed.returncode == 0, completed.stderr


def test_compare_without_flwr_raises_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "flwr", None)

    with pytest.raises(ImportError) as caught:
        flower.compare_with_flower(clients=6, dim=8)

    assert str(caught.value) == INSTALL_MESSAGE
    assert isinstance(caught.value.__cause__, ImportError)


def test_plan_rejects_modulus_above_flower_limit():
    with pytest.raises(ValueError, match="at most 2\\*\\*32"):
        flower._plan(100, 8, 4, 3, 0.1, bits=26, seed=0)


def test_plan_rejects_threshold_of_all_shares():
    with pytest.raises(ValueError, match="num_shares"):
        flower._plan(10, 8, 4, 5, 0.1, bits=8, seed=0)


def test_plan_matches_simulation_draws():
    plan = flower._plan(20, 8, 4, 3, 0.1, bits=8, seed=3)

    assert plan.neighbours == 4
    assert plan.threshold == 3
    assert len(plan.dropped) == 2
    assert plan.inputs.shape == (20, 8)
    assert plan.modulus == 2**13
