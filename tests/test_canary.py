"The canary notebook must fail under nbdev_test: proof that the runner executes cells (a silent runner would pass it)."
import subprocess, sys, pathlib
ROOT = pathlib.Path(__file__).parents[1]

def test_canary_notebook_fails():
    nbdev_test = pathlib.Path(sys.executable).parent/'nbdev_test'
    r = subprocess.run([str(nbdev_test), '--path', 'tests/fixtures/canary.ipynb'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0
    assert 'canary: this cell ran' in r.stdout + r.stderr
