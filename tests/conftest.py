import pytest

from hal.board import load_board


@pytest.fixture(scope="session")
def sim_spec():
    return load_board("sim")
