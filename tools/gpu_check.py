"""The prepared GPU check of issue 28: one script, under 8 minutes on one H100, no download.

Steps (each timed; the JSON is rewritten after every step, so a run cut short keeps what it measured):
  tests      the CUDA-capable tests (`pytest -m cuda --runslow`, ARITH_INTERP_TEST_DEVICE=cuda): tiny model and SmolLM2,
             float32 and bfloat16 (SmolLM2's are skipped where its weights are not installed)
  quick      `arith-interp reproduce --quick --device cuda` into a temp --out (never paper/)
  7b-*       a Llama-2-7B-shaped model (32 layers, 32 heads x 128, MLP 11008, vocabulary 32000; `models.shape_model`:
             random bfloat16 weights built on the GPU, the digit tokenizer) on 32 pairs: path, activation and
             attribution patching, knockout, one Precise SFT step (10 heads) and one LoRA step: seconds, peak GPU
             memory, and the peak that `arith_interp.plan` predicts for the same call
Writes one JSON: device, versions, every figure (default benchmarks/gpu.json).

  python tools/gpu_check.py                  # on a GPU
  python tools/gpu_check.py --dry-run        # the same code on the CPU at a scaled-down Llama shape, into a temp file

On a lent machine (the `device` tool; its python3 has torch but not nnsight, fastcore or this project's pins): run
`bash tools/gpu_bundle.sh` here once (wheels into .whl/, the data into .gpu_data/, both git-ignored), then one call
with carry [".whl", ".gpu_data"] and timeout_s 540:
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl &&
    export PYTHONPATH=/tmp/site:$PWD ARITH_INTERP_DATA=$PWD/.gpu_data PYTHONUNBUFFERED=1 &&
    python3 tools/gpu_check.py --out $OUT/gpu.json
and commit the returned gpu.json as benchmarks/gpu.json (a rerun can --skip the steps already measured).
"""
import argparse, json, os, subprocess, sys, tempfile, time, platform, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DRY_SIZES = dict(n_layers=2, d_model=64, n_heads=4, n_kv_heads=4, d_mlp=172, vocab=500)   # Llama-2's shape, scaled down
TIMEOUTS = {'tests': 180, 'quick': 240}


def save(result:dict, path:Path):
    "Write `result` as JSON (atomically)"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.tmp')
    tmp.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + '\n')
    os.replace(tmp, path)


def step(result:dict, name:str, fn, path:Path):
    "Run `fn` as step `name`: its figures, seconds and status (a failure is recorded, not raised), saved at once"
    print(f'[gpu_check] {name} ...', flush=True)
    start = time.perf_counter()
    try:
        found = {'status': 'ok', **(fn() or {})}
    except Exception as error:
        found = {'status': 'failed', 'error': ''.join(traceback.format_exception_only(error)).strip()[-2000:]}
    found['seconds'] = round(time.perf_counter() - start, 2)
    result['steps'][name] = found
    save(result, path)
    print(f"[gpu_check] {name}: {found['status']} in {found['seconds']} s", flush=True)
    return found


def environment(device:str)->dict:
    "Device name, memory and library versions"
    import torch
    from arith_interp.core import versions
    out = {'device': device, 'python': platform.python_version(), 'versions': versions(), 'cuda': torch.version.cuda}
    if device == 'cuda':
        props = torch.cuda.get_device_properties(0)
        out |= {'device_name': props.name, 'device_memory_gb': round(props.total_memory / 1e9, 2)}
    else:
        out['device_name'] = platform.processor() or platform.machine()
    return out


def run_tests(device:str, dry:bool)->dict:
    "The `cuda`-marked tests on `device` (the dry run: one tiny-model test)"
    files = [str(f) for f in sorted((ROOT/'tests').glob('test_*.py')) if 'mark.cuda' in f.read_text()]   # only these
    cmd = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-m', 'cuda', *files]
    cmd += ['-k', 'tiny_bf16_agrees and path'] if dry else ['--runslow']
    env = {**os.environ, 'ARITH_INTERP_TEST_DEVICE': device, 'PYTHONPATH': f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUTS['tests'])
    lines = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode: raise RuntimeError('\n'.join(lines[-30:]))
    return {'summary': lines[-1] if lines else '', 'command': ' '.join(cmd[1:])}


def smollm2_here()->bool:
    "True if the embedded SmolLM2 can be loaded here (its wheel, or its cached float weights)"
    from arith_interp.embedded import embedded_gguf
    try: embedded_gguf()
    except (ModuleNotFoundError, FileNotFoundError): return False
    return True


def run_quick(device:str, dry:bool)->dict:
    "`reproduce --quick` on `device` into a temp folder (the dry run, and a machine without SmolLM2: the tiny model)"
    model = 'smollm2-135m' if smollm2_here() and not dry else 'tiny'
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, '-m', 'arith_interp.cli', 'reproduce', '--quick', '--device', device, '--model', model,
               '--out', str(Path(out)/'quick')] + (['--only', 'data'] if dry else [])
        env = {**os.environ, 'PYTHONPATH': f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"}
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUTS['quick'])
    lines = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode: raise RuntimeError('\n'.join(lines[-30:]))
    return {'model': model, 'command': ' '.join(cmd[3:]), 'stage_times': [l for l in lines if l.strip()][-14:]}


class Meter:
    "Seconds and peak GPU memory of one call, with the peak the plan predicts for it"
    def __init__(self, device:str): self.device = device
    def __call__(self, fn, planned_gb:float|None=None)->dict:
        import torch
        cuda = self.device == 'cuda'
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        fn()
        if cuda: torch.cuda.synchronize()
        out = {'seconds': round(time.perf_counter() - start, 3)}
        if cuda: out['peak_gb'] = round(torch.cuda.max_memory_allocated() / 1e9, 3)
        if planned_gb is not None: out['plan_gb'] = round(planned_gb, 3)
        if planned_gb is not None and out.get('peak_gb'): out['plan_over_peak'] = round(planned_gb / out['peak_gb'], 3)
        return out


def big_model(device:str, dry:bool, n_pairs:int)->tuple:
    "The Llama-2-7B-shaped model (scaled down in the dry run) in bfloat16 on `device`, its sizes, pairs on the device"
    import torch
    from arith_interp.models import shape_model
    from arith_interp.plan import config_sizes
    from arith_interp.data import make_pairs, encode_pairs
    model = shape_model('llama2-7b-shape', device=device, dtype=torch.bfloat16, **(DRY_SIZES if dry else {}))
    pairs = make_pairs(model.tokenizer, ops=('+', '-', '*', '/'), n=n_pairs, cf='resample', seed=0)
    return model, config_sizes(model.config), encode_pairs(model.tokenizer, pairs).to(device)


def big_model_steps(result:dict, device:str, dry:bool, path:Path, n_pairs:int=32):
    "Each 7B-shaped step as its own record: build, path, act, atp, knockout, precise SFT step, LoRA step"
    from arith_interp import patching as P
    from arith_interp.attribution import attribution_patching
    from arith_interp.knockout import knockout
    from arith_interp.models import hf_module
    from arith_interp.ranking import top_k
    from arith_interp.plan import forward_bytes, backward_bytes, states_gb
    from arith_interp.sft import run_sft
    from arith_interp.training import arithmetic_examples
    from arith_interp.sites import Component
    meter, held = Meter(device), {}
    def build():
        held['model'], held['sizes'], held['batch'] = big_model(device, dry, n_pairs)
        s, model, batch = held['sizes'], hf_module(held['model']), held['batch']
        found = {'sizes': s, 'pairs': len(batch), 'tokens_per_pair': batch.clean.shape[1],
                 'parameters': sum(p.numel() for p in model.parameters())}
        return found | meter(lambda: None, states_gb(s, None)['total'])
    if step(result, '7b-build', build, path)['status'] != 'ok': return
    m, s, b = held['model'], held['sizes'], held['batch']
    rows, seq = len(b), b.clean.shape[1]
    weights = states_gb(s, None)['total']
    plan_fwd = weights + forward_bytes(s, rows, seq, cache=False) / 1e9
    def timed(name, fn, planned):
        step(result, name, lambda: meter(lambda: held.__setitem__(name, fn()), planned), path)
    timed('7b-path', lambda: P.path_patching(m, b, 'logit'), plan_fwd)
    act_rows = min(512, rows * s['n_layers'] * (s['n_heads'] + 1))
    act_gb = weights + forward_bytes(s, act_rows, seq, cache=False) / 1e9
    timed('7b-act', lambda: P.activation_patching(m, b, 'logit'), act_gb)
    timed('7b-atp', lambda: attribution_patching(m, b, 'logit'), weights + backward_bytes(s, rows, seq) / 1e9)
    ranking = held.get('7b-path')
    heads = top_k(ranking, 10, ('head',)) if ranking is not None else [f'a0.h{h}' for h in range(min(10, s['n_heads']))]
    knock_rows = 3 * rows                                                            # clean, top 10, top 5: one forward
    timed('7b-knockout', lambda: knockout(m, b, [heads, heads[::-1][:5]], 'mean'),
          weights + forward_bytes(s, knock_rows, seq, cache=False) / 1e9)
    data = arithmetic_examples(8, seed=0)
    comps = [Component.parse(h) for h in heads]
    sft = dict(steps=1, batch=8, seq=32, examples=data, seed=0, ckpt_every=0)
    for method in ('precise', 'lora'):
        planned = states_gb(s, method, 10)['total'] + backward_bytes(s, 8, 32) / 1e9
        timed(f'7b-{method}-step', lambda: run_sft(m, method, comps, **sft), planned)
    del held['model']


def main(argv=None)->int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dry-run', action='store_true', help='the same code on the CPU at small shapes, into a temp file')
    p.add_argument('--out', help='the JSON to write (default: benchmarks/gpu.json; the dry run: a temp file)')
    p.add_argument('--skip', action='append', default=[], choices=['tests', 'quick', '7b'], help='leave a step out')
    a = p.parse_args(argv)
    import torch
    device = 'cpu' if a.dry_run else 'cuda'
    if not a.dry_run and not torch.cuda.is_available():
        print('gpu_check: no CUDA device here; use --dry-run on a CPU', file=sys.stderr)
        return 2
    path = Path(a.out or (Path(tempfile.mkdtemp())/'gpu_dry.json' if a.dry_run else ROOT/'benchmarks'/'gpu.json'))
    started = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    result = {'check': 'tools/gpu_check.py', 'dry_run': a.dry_run, 'started': started, 'steps': {}}
    result |= environment(device)
    save(result, path)
    start = time.perf_counter()
    if 'tests' not in a.skip: step(result, 'tests', lambda: run_tests(device, a.dry_run), path)
    if 'quick' not in a.skip: step(result, 'quick', lambda: run_quick(device, a.dry_run), path)
    if '7b' not in a.skip: big_model_steps(result, device, a.dry_run, path)
    result['total_seconds'] = round(time.perf_counter() - start, 1)
    save(result, path)
    failed = [name for name, found in result['steps'].items() if found['status'] != 'ok']
    print(f'[gpu_check] wrote {path}; {len(result["steps"])} steps, failed: {failed or "none"}', flush=True)
    return 1 if failed else 0


if __name__ == '__main__': sys.exit(main())
