"The prepared GPU check (tools/gpu_check.py, issue 28) runs its whole code path on the CPU with --dry-run, so it cannot rot before a GPU runs it."
import json, subprocess, sys, pathlib
ROOT = pathlib.Path(__file__).parents[1]
STEPS = {'tests', 'quick', '7b-build', '7b-path', '7b-act', '7b-atp', '7b-knockout', '7b-precise-step', '7b-lora-step'}

def test_gpu_check_dry_run(tmp_path):
    out = tmp_path/'gpu.json'
    done = subprocess.run([sys.executable, 'tools/gpu_check.py', '--dry-run', '--out', str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    result = json.loads(out.read_text())
    assert result['dry_run'] and result['device'] == 'cpu' and result['versions']['torch']
    assert set(result['steps']) == STEPS
    assert all(found['status'] == 'ok' and found['seconds'] >= 0 for found in result['steps'].values())
    assert result['steps']['7b-build']['sizes']['n_layers'] == 2                 # the scaled-down shape
    assert all(result['steps'][name]['plan_gb'] > 0 for name in STEPS if name.startswith('7b-') and name != '7b-build')

def test_gpu_check_refuses_without_a_gpu(tmp_path):
    import torch
    if torch.cuda.is_available(): return
    done = subprocess.run([sys.executable, 'tools/gpu_check.py', '--out', str(tmp_path/'x.json')], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and 'no CUDA device' in done.stderr and not (tmp_path/'x.json').exists()
