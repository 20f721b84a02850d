"The plan before long work (issue 28): the README states the plan's numbers, and `reproduce --plan` prints it without running."
import subprocess, sys, pathlib
from arith_interp.plan import gpu_memory_markdown, study_plan

ROOT = pathlib.Path(__file__).parents[1]

def test_readme_states_the_plans_gpu_numbers():
    readme = (ROOT/'README.md').read_text()
    assert gpu_memory_markdown() in readme, 'README.md: the GPU memory table is not arith_interp.plan.gpu_memory_table'
    plan = study_plan('llama2-7b-shape', 'full', 'cuda', rate=1.0).set_index('part').peak_gb
    assert plan.drop(['precise step', 'random step', 'lora step', 'full step']).max() < 35
    assert plan.max() < 80   # the full budget's gradient accumulation keeps every stage on one 80 GB GPU

def test_reproduce_full_plan_prints_without_running(tmp_path):
    out = tmp_path/'run'
    argv = ['reproduce', '--full', '--model', 'llama2-7b-shape', '--device', 'cuda', '--plan', '--out', str(out)]
    done = subprocess.run([sys.executable, '-m', 'arith_interp.cli', *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '[plan] llama2-7b-shape, full budget, cuda, 2-byte weights' in done.stdout
    assert 'precise step' in done.stdout and 'knockout' in done.stdout
    assert not out.exists()                                    # nothing ran


def _saved_bytes(hf, ids)->int:
    "Bytes of the activations autograd keeps for the backward of one training forward (parameters excluded)"
    import torch
    seen = {}
    def pack(t):
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        hf(input_ids=ids, labels=ids)
    params = {p.untyped_storage().data_ptr() for p in hf.parameters()}
    return sum(n for ptr, n in seen.items() if ptr not in params)

def test_backward_formula_matches_what_autograd_keeps():
    """On a scaled-down Llama-2 shape in bfloat16: the plan's activations are within 10% above what a full-SFT forward
    keeps, and above what a Precise SFT forward keeps (frozen layers keep fewer tensors: the plan is an upper bound)"""
    import torch
    from arith_interp.models import shape_model, hf_module
    from arith_interp.plan import backward_bytes, config_sizes
    from arith_interp.tuners import make_tuner
    from arith_interp.sites import Component
    sizes = dict(n_layers=4, d_model=512, n_heads=8, n_kv_heads=8, d_mlp=1376, vocab=4000)
    ids = torch.randint(0, sizes['vocab'], (4, 128), generator=torch.Generator().manual_seed(0))
    full = shape_model(device='cpu', dtype=torch.bfloat16, **sizes)
    hf_module(full).train().requires_grad_(True)
    planned = backward_bytes(config_sizes(full.config), 4, 128, width=2)
    assert 1.0 <= planned / _saved_bytes(hf_module(full), ids) <= 1.1
    precise = shape_model(device='cpu', dtype=torch.bfloat16, **sizes)
    make_tuner(precise, 'precise', [Component(1, 2), Component(3)])
    hf_module(precise).train()
    assert _saved_bytes(hf_module(precise), ids) < planned

def test_readme_states_the_full_budgets_peaks():
    "The README's peaks of the --full budget on Llama-2-7B come from the plan (gradient accumulation keeps it under 80 GB)"
    from arith_interp.plan import study_plan
    plan = study_plan('llama2-7b-shape', 'full', device='cuda', rate=1e12)
    peak = plan.groupby('part').peak_gb.max()
    readme = (ROOT/'README.md').read_text()
    for value in (plan.peak_gb.max(), peak['precise step'], peak['attribution patching']):
        assert f'{value:.1f} GB' in readme, value
    assert plan.peak_gb.max() < 80
