"CLI checks for issue 6 (analysis / transfer) on the tiny model: run offline on CPU in seconds."
import json, subprocess, sys, pathlib
import pytest
BIN = pathlib.Path(sys.executable).parent

@pytest.mark.slow   # about 20 s idle (a subprocess importing torch + a tiny transfer run)
def test_transfer_command_writes_json_csv_and_meta(tmp_path):
    out = tmp_path/'t.json'
    r = subprocess.run([str(BIN/'arith-interp'), 'transfer', '--model', 'tiny', '--components', 'a0.h1,a1.h2',
                        '--sets', 'single,power', '--limit', '5', '--n-random', '2', '--out', str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert {d['set'] for d in res['drops']} == {'single', 'power'}
    assert {t['condition'] for t in res['table']} == {'none', 'key', 'random'}
    assert out.with_suffix('.csv').exists() and out.with_suffix('.meta.json').exists()
    assert res['meta']['components'] == 'a0.h1,a1.h2' and res['meta']['limit'] == 5

def test_transfer_command_rejects_unknown_set(tmp_path):
    r = subprocess.run([str(BIN/'arith-interp'), 'transfer', '--model', 'tiny', '--components', 'a0.h1',
                        '--sets', 'nope', '--out', str(tmp_path/'t.json')], capture_output=True, text=True)
    assert r.returncode == 2 and "expected one of" in r.stderr
