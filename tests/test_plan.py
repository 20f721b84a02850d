"The plan before long work (issue 28): the README states the plan's numbers, and `reproduce --plan` prints it without running."
import subprocess, sys, pathlib
from arith_interp.plan import gpu_memory_markdown, study_plan

ROOT = pathlib.Path(__file__).parents[1]

def test_readme_states_the_plans_gpu_numbers():
    readme = (ROOT/'README.md').read_text()
    assert gpu_memory_markdown() in readme, 'README.md: the GPU memory table is not arith_interp.plan.gpu_memory_table'
    plan = study_plan('llama2-7b-shape', 'full', 'cuda', rate=1.0).set_index('part').peak_gb
    assert plan.drop(['precise step', 'random step', 'lora step', 'full step']).max() < 35
    for part, said in [('precise step', 130), ('full step', 170)]:
        assert abs(plan[part] - said) < 5, (part, plan[part])
        assert f'{said} GB' in readme

def test_reproduce_full_plan_prints_without_running(tmp_path):
    out = tmp_path/'run'
    argv = ['reproduce', '--full', '--model', 'llama2-7b-shape', '--device', 'cuda', '--plan', '--out', str(out)]
    done = subprocess.run([sys.executable, '-m', 'arith_interp.cli', *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '[plan] llama2-7b-shape, full budget, cuda, 2-byte weights' in done.stdout
    assert 'precise step' in done.stdout and 'knockout' in done.stdout
    assert not out.exists()                                    # nothing ran
