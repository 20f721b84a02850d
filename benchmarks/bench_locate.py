"""Benchmark the locate methods of arith_interp.patching against naive one-forward-per-component loops (nnsight).

    python benchmarks/bench_locate.py --pairs 64 --out benchmarks/locate.json

On SmolLM2-135M (all 270 heads + 30 MLPs): times path patching, KV-cache activation patching and AtP over every
component, and the naive references (one full nnsight forward per component: plain activation patching, and the
frozen-downstream direct-effect oracle for path patching) on a seeded random subset of `--naive-comps` components,
extrapolated per component to all of them. Max absolute differences (answer logit and logit difference) are measured
on that subset. Not a timed test.
"""
import argparse, json, platform, random, time
import torch, nnsight
from arith_interp.core import provenance, save_json
from arith_interp.models import load_model, tiny_model
from arith_interp.data import make_pairs, encode_pairs
from arith_interp.sites import spec, components
from arith_interp import patching as P
from arith_interp.ranking import agreement


def pairs(model, n, seed, correct_only=True):
    "n few-shot single-digit addition pairs (resampled counterfactual) that the model answers correctly"
    recs = make_pairs(model.tokenizer, ops=('+',), styles='equation', cf='resample', k_shot=4, seed=seed)
    random.Random(seed).shuffle(recs)
    b = encode_pairs(model.tokenizer, recs[:4 * n])
    with torch.no_grad():
        lg = P.hf_module(model)(**P.fwd_kw(b.clean, b.mask)).logits[:, -1]
    ok = [i for i in range(len(b)) if lg[i].argmax() == b.answer[i] or not correct_only][:n]
    return b[ok]


def timed(fn, *a, **kw):
    t = time.perf_counter(); r = fn(*a, **kw); return r, time.perf_counter() - t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='smollm2-135m'); p.add_argument('--pairs', type=int, default=64)
    p.add_argument('--naive-comps', type=int, default=30); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=2); p.add_argument('--out', default='benchmarks/locate.json')
    a = p.parse_args(argv); torch.set_num_threads(a.threads); t_start = time.perf_counter()
    m = tiny_model(n_layers=3) if a.model == 'tiny' else load_model(a.model)
    b = pairs(m, a.pairs, a.seed, a.model != 'tiny'); B = len(b); allc = components(spec(m)); C = len(allc)
    sub = sorted(random.Random(a.seed).sample(allc, min(a.naive_comps, C)))
    res = dict(model=a.model, n_pairs=B, n_components=C, prompt_tokens=b.clean.shape[1], naive_subset=[c.name for c in sub],
               torch_threads=a.threads, machine=platform.processor() or platform.machine())
    w = b[:2]                                             # warm-up: first traces pay nnsight's source parsing
    for fn in (P.path_patching, P.attribution_patching): fn(m, w, 'logit_diff', comps=sub[:2])
    P.activation_patching(m, w, 'logit_diff', comps=sub[:2]); P.direct_oracle(m, w, sub[:1])
    (tp, sp), t_path = timed(P.path_patching, m, b, 'logit_diff', return_stats=True)
    (ta, sa), t_act = timed(P.activation_patching, m, b, 'logit_diff', return_stats=True)
    tatp, t_atp = timed(P.attribution_patching, m, b, 'logit_diff')
    # naive references: one nnsight forward per component over the B pairs (counterfactual cache forward counted once)
    t_co = time.perf_counter()
    with torch.no_grad():
        with m.session(remote=False):
            co = nnsight.save(P.activation_cache(m, b, 'corrupt'))
        t_co = time.perf_counter() - t_co
        t = time.perf_counter()
        naive_act = torch.stack([P.patched_run(m, b, [[c]], co.z, co.mlp)[0] for c in sub])
        t_naive_act = time.perf_counter() - t
    orc, t_orc = timed(P.direct_oracle, m, b, sub)
    idx = [allc.index(c) for c in sub]
    diff = lambda x, y: float((x[..., :2] - y[..., :2]).abs().max())
    naive_act_total = t_co + t_naive_act / len(sub) * C
    naive_path_total = t_co + t_orc / len(sub) * C   # oracle time includes its 2 cache forwards: slightly pessimistic
    res.update(
        seconds=dict(path=t_path, act_kv=t_act, atp=t_atp, naive_act_subset=t_naive_act, naive_path_oracle_subset=t_orc,
                     counterfactual_forward=t_co, naive_act_extrapolated=naive_act_total, naive_path_extrapolated=naive_path_total),
        speedup=dict(path_vs_naive_loop=naive_act_total / t_path, path_vs_naive_oracle=naive_path_total / t_path,
                     act_vs_naive_loop=naive_act_total / t_act, atp_vs_naive_loop=naive_act_total / t_atp),
        max_abs_diff=dict(path_vs_oracle=diff(sp[idx], orc), act_kv_vs_naive=diff(sa[idx], naive_act)),
        atp_vs_act=agreement(tatp, ta, ks=(10,), absolute=False).to_dict('records'),
        targets=dict(path_speedup=100, act_speedup=20, max_abs_diff=1e-4),
        note='naive times measured on naive_subset and extrapolated per component to all components; '
             'diffs are over the answer logit and logit difference of every pair on that subset',
        **provenance(model=a.model, seed=a.seed))
    res['command'] = 'python benchmarks/bench_locate.py ' + ' '.join(argv if argv is not None else __import__('sys').argv[1:])
    res['total_seconds'] = time.perf_counter() - t_start
    save_json(res, a.out); print(json.dumps({k: res[k] for k in ('seconds', 'speedup', 'max_abs_diff')}, indent=1))


if __name__ == '__main__': main()
