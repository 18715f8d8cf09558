import numpy as np
import pytest

from secagg.protocols.masking import cost
from secagg.simulation import RunSpec, run


def simulated(protocol, clients, dim, bits, active, drop_clients=(), drop_stage=2, degree=None,
              threshold=None):
    spec = RunSpec(protocol, clients, dim, bits, active=active, drop_clients=tuple(drop_clients),
                   drop_stage=drop_stage, degree=degree, threshold=threshold, seed=5)
    return run(spec)


def drop_map(drop_clients, stage):
    return {c: stage for c in drop_clients}


@pytest.mark.parametrize("active", [False, True])
@pytest.mark.parametrize("stage", [0, 1, 2, 3, 4])
def test_secagg_model_matches_simulator(active, stage):
    drops = [1, 4, 7]
    outcome = simulated("secagg", 12, 300, 16, active, drops, stage, threshold=7)
    assert not outcome.result.aborted
    sets = cost.Survivors.from_drop_stages(12, drop_map(drops, stage), active)
    model = cost.message_bytes(12, 300, 16, active=active, survivors_=sets)
    report = outcome.report
    assert model.upload == {c: report.bytes.client_upload.get(c, 0) for c in range(12)}
    assert model.download == {c: report.bytes.client_download.get(c, 0) for c in range(12)}
    assert model.rounds == report.bytes_by_round()
    assert model.server_sent == report.bytes.server_sent


@pytest.mark.parametrize("active", [False, True])
@pytest.mark.parametrize("stage", [1, 2, 4])
def test_secagg_plus_model_matches_with_graph(active, stage):
    from secagg.network.simulator import simulate
    from secagg.simulation import _build_parties, draw_inputs

    drops = [0, 5, 9, 13]
    spec = RunSpec("secagg+", 30, 200, 12, active=active, degree=8, threshold=5, seed=5)
    levels = draw_inputs(spec, np.random.default_rng(5))
    config, server, clients = _build_parties(spec, levels, None)
    result, report = simulate(server, clients, dropout={stage: drops})
    assert not result.aborted
    # The graph depends on the session id, so it is read from the server after the run.
    session = server.context.session_id
    neighbours = {c: set(config.neighbours(session, c).tolist()) for c in range(30)}
    sets = cost.Survivors.from_drop_stages(30, drop_map(drops, stage), active)
    model = cost.message_bytes(30, 200, 12, active=active, survivors_=sets, neighbours=neighbours)
    assert model.upload == {c: report.bytes.client_upload.get(c, 0) for c in range(30)}
    assert model.download == {c: report.bytes.client_download.get(c, 0) for c in range(30)}
    assert model.rounds == report.bytes_by_round()


def test_large_instance_matches():
    outcome = simulated("secagg", 100, 100_000, 16, False, range(0, 100, 10), 2, threshold=51)
    sets = cost.Survivors.from_drop_stages(100, drop_map(range(0, 100, 10), 2), False)
    model = cost.message_bytes(100, 100_000, 16, survivors_=sets)
    measured = outcome.report.to_json_dict()["bytes"]
    assert model.client_upload_mean == measured["client_upload_mean"]
    assert model.client_download_mean == measured["client_download_mean"]
    assert model.server_sent == measured["server_sent"]


def test_published_settings_expansion():
    # Bonawitz et al. (CCS 2017) report 1.73x and 1.98x for these settings.
    assert cost.expansion(2**10, 2**20, 16) == pytest.approx(1.73, rel=0.05)
    assert cost.expansion(2**14, 2**24, 16) == pytest.approx(1.98, rel=0.05)


def test_expansion_formula_matches_model_without_dropout():
    model = cost.message_bytes(50, 1000, 16)
    assert cost.expansion(50, 1000, 16) == pytest.approx(model.client_upload_mean / 2000)
