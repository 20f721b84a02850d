import pytest

def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False, help='also run tests marked slow')

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes minutes on CPU; skipped unless --runslow')
    config.addinivalue_line('markers', 'cuda: also runs on a GPU with ARITH_INTERP_TEST_DEVICE=cuda (tools/gpu_check.py: -m cuda)')

def pytest_collection_modifyitems(config, items):
    if config.getoption('--runslow'): return
    skip = pytest.mark.skip(reason='slow: run with --runslow')
    for item in items:
        if 'slow' in item.keywords: item.add_marker(skip)

@pytest.fixture(autouse=True)
def ndif_answers_from_its_table(monkeypatch):
    "No test asks the live NDIF service: `ndif.hosted` answers from its table unless a test mocks the service"
    from arith_interp import ndif
    monkeypatch.setattr(ndif, 'ndif_reachable', lambda timeout=3.0: False)
