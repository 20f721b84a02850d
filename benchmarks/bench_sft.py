"""Step time and peak memory of Precise SFT vs full SFT vs LoRA on the embedded SmolLM2-135M, same batch, one benchmark run.

Each method runs in its own child process (so peak RSS, from resource.getrusage ru_maxrss, belongs to that method alone);
a second phase interleaves the methods' steps round-robin in one process (same background load for all: the fair
time comparison on a shared CPU). One step = forward + backward + AdamW step on a fixed batch of random tokens [batch, seq] (labels = inputs), fp32 on CPU.
The first step is a warm-up and is not timed; the median of the next `steps` interleaved rounds is the reported step time
(the per-process phase, run for memory, times `--child-steps` steps under whatever load the machine had then). Adapter size on disk is the
saved precise adapter (PEFT LoRA form of the deltas) against the full checkpoint a full-SFT run writes.

Also written: the compute bound of the full/precise step-time ratio on this model (a step costs a forward through every layer
and the head, plus a backward: full SFT needs input and weight gradients everywhere, about 2x the forward; Precise SFT needs
input gradients only down to its lowest tuned layer, weight gradients of its small slices aside; attention-score FLOPs and the
embedding lookup ignored: matrix FLOPs are proportional to the parameters a token meets), the optimizer-state and gradient
bytes per method (AdamW: two float32 moments per trained parameter), and from LLaMA2-7B's sizes the same memory estimate
(`sft.sft_memory`) for full SFT (one GPU, and FSDP2 over 8) and Precise SFT of 32 heads.

    python benchmarks/bench_sft.py --steps 3 --batch 8 --seq 128 --out benchmarks/sft.json
"""
from __future__ import annotations
import os, sys, json, time, argparse, resource, subprocess, tempfile, statistics
from pathlib import Path

HEADS_5_MLPS_2 = 'a14.h2,a16.h0,a18.h5,a21.h2,a25.h7,m23,m24'   # the spike's shape: 5 heads in layers 14-29 + 2 MLPs

def child(a)->dict:
    import torch
    from arith_interp.core import save_json, file_sha256
    from arith_interp.models import load_model, hf_module
    from arith_interp.sites import spec, parse_components
    from arith_interp.tuners import make_tuner, lora_rank_for
    from arith_interp.adapters import component_masks
    from arith_interp.ranking import random_heads
    torch.manual_seed(0); torch.set_num_threads(a.threads)
    m = load_model(a.model, device='cpu'); hf = hf_module(m)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    s = spec(m)
    comps = parse_components(random_heads(s, 32, seed=0), s) if a.method == 'precise32' else parse_components(HEADS_5_MLPS_2, s)
    meth = {'precise32': 'precise', 'precise5h2m': 'precise'}.get(a.method, a.method)
    budget = sum(int(v.sum()) for v in component_masks(m, parse_components(HEADS_5_MLPS_2, s)).values())
    t = make_tuner(m, meth, comps, lora_r=lora_rank_for(m, budget) if meth == 'lora' else None)
    opt = torch.optim.AdamW(t.params(), lr=1e-5, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, s.vocab, (a.batch, a.seq), generator=g)
    times = []
    for i in range(a.steps + 1):
        t0 = time.perf_counter()
        loss = hf(input_ids=ids, labels=ids).loss; loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        if i: times.append(time.perf_counter() - t0)
    rec = {'method': a.method, 'components': [c.name for c in comps] if meth != 'full' else 'all', 'trainable_params': t.n_params(),
           'total_params': sum(p.numel() for p in hf.parameters()), 'step_s': times, 'step_s_median': statistics.median(times),
           'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'rss_after_load_mb': rss0 / 1024,
           'lora_r': getattr(t, 'r', None), 'threads': torch.get_num_threads()}
    if a.method in ('precise5h2m', 'full'):
        with tempfile.TemporaryDirectory() as d:
            t.save(Path(d)/'x', model=a.model)
            rec['saved_bytes'] = sum(p.stat().st_size for p in (Path(d)/'x').iterdir())
    return rec

def compute_bound(model, comps)->dict:
    "Full/precise step-FLOP ratio from parameter counts: (F + 2F) / (F + backward down to the lowest tuned layer)"
    from arith_interp.models import hf_module
    from arith_interp.sites import spec
    hf, s = hf_module(model), spec(model)
    per_layer = [sum(p.numel() for p in layer.parameters()) for layer in hf.model.layers]
    head = hf.lm_head.weight.numel()
    lowest = min(c.layer for c in comps)
    forward = sum(per_layer) + head
    precise_backward = head + sum(per_layer[lowest:])
    return {'lowest_tuned_layer': lowest, 'layers': s.n_layers, 'forward_units': forward, 'full_step_units': 3 * forward,
            'precise_step_units': forward + precise_backward, 'full_over_precise_bound': 3 * forward / (forward + precise_backward)}

def memory_estimates(by:dict)->dict:
    "Optimizer-state and gradient bytes per method here, and the LLaMA2-7B estimate"
    from arith_interp.tuners import sft_memory, llama_params, head_params, LLAMA2_7B
    here = {k: {'trainable_params': r['trainable_params'], 'optimizer_state_bytes': 8 * r['trainable_params'],
                'gradient_bytes': 4 * r['trainable_params']} for k, r in by.items()}
    n7, h32 = llama_params(**LLAMA2_7B), 32 * head_params(**LLAMA2_7B)
    llama = {'params': n7, 'precise_32_heads_params': h32,
             'full_1gpu_gb': sft_memory(n7, n7, frozen_bytes=4), 'full_fsdp2_8gpu_per_gpu_gb': sft_memory(n7, n7, shards=8),
             'precise_32_heads_1gpu_gb': sft_memory(n7, h32), 'optimizer_state_full_over_precise': n7 / h32}
    return {'here': here, 'llama2_7b': llama}

def interleaved(a, methods)->dict:
    "Step times with the methods' steps interleaved round-robin in one process, so each sees the same background load"
    import torch
    from arith_interp.models import load_model, hf_module
    from arith_interp.sites import spec, parse_components
    from arith_interp.tuners import make_tuner, lora_rank_for
    from arith_interp.adapters import component_masks
    from arith_interp.ranking import random_heads
    torch.manual_seed(0); torch.set_num_threads(a.threads); st = {}
    for meth in methods:
        m = load_model(a.model, device='cpu'); s = spec(m); c5 = parse_components(HEADS_5_MLPS_2, s)
        comps = parse_components(random_heads(s, 32, seed=0), s) if meth == 'precise32' else c5
        base = {'precise32': 'precise', 'precise5h2m': 'precise'}.get(meth, meth)
        t = make_tuner(m, base, comps, lora_r=lora_rank_for(m, sum(int(v.sum()) for v in component_masks(m, c5).values())) if base == 'lora' else None)
        st[meth] = (hf_module(m), torch.optim.AdamW(t.params(), lr=1e-5, weight_decay=0.0), [])
    ids = torch.randint(3, s.vocab, (a.batch, a.seq), generator=torch.Generator().manual_seed(0))
    for r in range(a.steps + 1):
        for meth, (hf, opt, ts) in st.items():
            t0 = time.perf_counter(); hf(input_ids=ids, labels=ids).loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
            if r: ts.append(time.perf_counter() - t0)
        print('round', r, {k: round(v[2][-1], 2) for k, v in st.items() if v[2]}, flush=True)
    return {k: {'step_s': v[2], 'step_s_median': statistics.median(v[2])} for k, v in st.items()}

def main(argv=None)->int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='smollm2-135m'); p.add_argument('--steps', type=int, default=3)
    p.add_argument('--batch', type=int, default=8); p.add_argument('--seq', type=int, default=128)
    p.add_argument('--methods', default='precise5h2m,precise32,lora,full'); p.add_argument('--out', default='benchmarks/sft.json')
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads per method (1 avoids OpenMP stalls on a shared CPU)')
    p.add_argument('--child', default=None, help=argparse.SUPPRESS)
    p.add_argument('--child-steps', type=int, default=1, help='timed steps in each per-method process (memory phase)')
    p.add_argument('--skip-children', action='store_true', help='only the interleaved timing (reuse runs from an existing --out)')
    a = p.parse_args(argv)
    if a.child:
        a.method = a.child; print(json.dumps(child(a))); return 0
    runs, load0 = [], os.getloadavg()
    if a.skip_children: runs = json.loads(Path(a.out).read_text())['runs']
    for meth in ([] if a.skip_children else a.methods.split(',')):
        r = subprocess.run([sys.executable, __file__, '--child', meth, '--model', a.model, '--steps', str(a.child_steps),
                            '--batch', str(a.batch), '--seq', str(a.seq), '--threads', str(a.threads)], capture_output=True, text=True)
        if r.returncode: raise SystemExit(f'{meth} failed:\n{r.stderr[-3000:]}')
        runs.append(json.loads(r.stdout.strip().splitlines()[-1])); print(meth, runs[-1]['step_s_median'], runs[-1]['peak_rss_mb'], flush=True)
    inter = interleaved(a, a.methods.split(','))
    by = {r['method']: r for r in runs}
    ratios = {f'per_process_full_over_{k}_step_time': by['full']['step_s_median'] / by[k]['step_s_median'] for k in by if k != 'full' and 'full' in by}
    ratios |= {f'full_over_{k}_peak_rss': by['full']['peak_rss_mb'] / by[k]['peak_rss_mb'] for k in by if k != 'full' and 'full' in by}
    ratios |= {f'interleaved_full_over_{k}_step_time': inter['full']['step_s_median'] / inter[k]['step_s_median'] for k in inter if k != 'full' and 'full' in inter}
    if 'full' in by and 'precise5h2m' in by: ratios['full_checkpoint_over_adapter_bytes'] = by['full']['saved_bytes'] / by['precise5h2m']['saved_bytes']
    from arith_interp.models import load_model
    from arith_interp.sites import spec, parse_components
    m = load_model(a.model, device='cpu')
    bound = compute_bound(m, parse_components(HEADS_5_MLPS_2, spec(m)))
    if 'interleaved_full_over_precise5h2m_step_time' in ratios:
        ratios['interleaved_full_over_precise5h2m_vs_bound'] = ratios['interleaved_full_over_precise5h2m_step_time'] / bound['full_over_precise_bound']
    from arith_interp.core import save_json, versions
    save_json({'setup': {'model': a.model, 'batch': a.batch, 'seq': a.seq, 'timed_steps': a.steps, 'device': 'cpu', 'dtype': 'float32',
                         'step': 'forward + backward + AdamW on random tokens (labels = inputs), first step untimed',
                         'memory': 'peak RSS of the method\'s own process (resource.getrusage ru_maxrss), model load included',
                         'threads': a.threads, 'cpu_count': os.cpu_count(), 'load_avg_at_start': load0, 'load_avg_at_end': os.getloadavg(), 'versions': versions()},
               'runs': runs, 'interleaved': inter, 'ratios': ratios, 'compute_bound_precise5h2m': bound, 'memory': memory_estimates(by)}, a.out)
    print(json.dumps(ratios, indent=1)); return 0

if __name__ == '__main__': sys.exit(main())
