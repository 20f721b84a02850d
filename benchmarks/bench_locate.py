"""Benchmark the locate methods of arith_interp.patching against naive one-forward-per-component loops (nnsight)
and against TransformerLens doing the same activation patching.

    python benchmarks/bench_locate.py --pairs 64 --out benchmarks/locate.json

On SmolLM2-135M (all 270 heads + 30 MLPs): times path patching, activation patching (the default local path,
plain torch, and the nnsight key/value-cache path) and AtP over every component, and three references on a seeded random subset of `--naive-comps` components, extrapolated per component
to all of them: the naive nnsight loop (one full forward per component: plain activation patching), the
frozen-downstream direct-effect oracle for path patching, and TransformerLens 4 (`TransformerBridge` over the same
HF weights, loaded offline; one `run_with_hooks` per component with a hook on `blocks.L.attn.hook_z` or
`blocks.L.hook_mlp_out` that writes the counterfactual value at the last position, as a TransformerLens user writes
it; the same attention mask and position ids as our runs; full logits, as its default forward returns). Max absolute
differences (answer logit and logit difference, and the scores) are measured on that subset. Needs the `bench` extra
(transformer-lens). Not a timed test.
"""
import argparse, copy, json, platform, random, sys, time
from functools import partial
import torch, nnsight
from arith_interp.core import provenance, save_json
from arith_interp.models import load_model, tiny_model, hf_module
from arith_interp.data import make_pairs, encode_pairs, positions
from arith_interp.sites import spec, components
from arith_interp import patching as P
from arith_interp.attribution import attribution_patching
from arith_interp.ranking import agreement


def pairs(model, n, seed, correct_only=True):
    "n few-shot single-digit addition pairs (resampled counterfactual) that the model answers correctly"
    recs = make_pairs(model.tokenizer, ops=('+',), styles='equation', cf='resample', k_shot=4, seed=seed)
    random.Random(seed).shuffle(recs)
    b = encode_pairs(model.tokenizer, recs[:4 * n])
    with torch.no_grad():
        lg = hf_module(model)(**P.fwd_kw(b.clean, b.mask)).logits[:, -1]
    ok = [i for i in range(len(b)) if lg[i].argmax() == b.answer[i] or not correct_only][:n]
    return b[ok]


def timed(fn, *args, **kwargs):
    "(result, seconds) of one call"
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def naive_loop(model, batch, comps):
    "Stats [C, B, 3]: one nnsight forward per component, counterfactual values at the last position"
    with torch.no_grad():
        with model.session(remote=False):
            corrupt = nnsight.save(P.activation_cache(model, batch, 'corrupt'))
        return torch.stack([P.patched_run(model, batch, [[c]], corrupt.z, corrupt.mlp)[0] for c in comps])


def bridge_for(model):
    "A TransformerLens 4 bridge over a copy of the model's HF weights (offline: the config comes from the module)"
    from transformer_lens.model_bridge import TransformerBridge
    return TransformerBridge.boot_transformers('arith-interp-local', hf_model=copy.deepcopy(hf_module(model)),
                                               tokenizer=model.tokenizer)


def lens_loop(bridge, batch, comps):
    "Stats [C, B, 3] of TransformerLens activation patching: one run_with_hooks per component, last position"
    def patch_head(z, hook, name, head):
        z[:, -1, head] = cache[name][:, -1, head]          # z: [batch, pos, head, d_head]
        return z
    def patch_mlp(out, hook, name):
        out[:, -1] = cache[name][:, -1]
        return out
    keep = lambda name: name.endswith('attn.hook_z') or name.endswith('hook_mlp_out')
    out = []
    with torch.no_grad():
        inputs = dict(attention_mask=batch.mask, position_ids=positions(batch.mask))   # left padding, as our runs
        _, cache = bridge.run_with_cache(batch.corrupt, names_filter=keep, **inputs)
        for c in comps:
            if c.head is None:
                name = f'blocks.{c.layer}.hook_mlp_out'
                hook = (name, partial(patch_mlp, name=name))
            else:
                name = f'blocks.{c.layer}.attn.hook_z'
                hook = (name, partial(patch_head, name=name, head=c.head))
            logits = bridge.run_with_hooks(batch.clean, fwd_hooks=[hook], **inputs)
            out.append(P.logit_stats(logits[:, -1], batch.answer, batch.corrupt_answer))
    return torch.stack(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='smollm2-135m')
    p.add_argument('--pairs', type=int, default=64)
    p.add_argument('--naive-comps', type=int, default=10)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', default='benchmarks/locate.json')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    m = tiny_model(n_layers=3) if a.model == 'tiny' else load_model(a.model)
    b = pairs(m, a.pairs, a.seed, a.model != 'tiny')
    allc = components(spec(m))
    n_comps = len(allc)
    sub = sorted(random.Random(a.seed).sample(allc, min(a.naive_comps, n_comps)))
    idx = [allc.index(c) for c in sub]
    res = dict(model=a.model, n_pairs=len(b), n_components=n_comps, prompt_tokens=b.clean.shape[1],
               padded=bool((b.mask == 0).any()), naive_subset=[c.name for c in sub], torch_threads=a.threads,
               machine=platform.processor() or platform.machine())
    bridge = bridge_for(m)
    warm = b[:2]                                          # warm-up: first traces pay nnsight's source parsing
    for fn in (P.path_patching, attribution_patching, P.activation_patching):
        fn(m, warm, 'logit_diff', comps=sub[:2])
    P.direct_oracle(m, warm, sub[:1])
    naive_loop(m, warm, sub[:1])
    lens_loop(bridge, warm, sub[:1])

    (tp, sp), t_path = timed(P.path_patching, m, b, 'logit_diff', return_stats=True)
    ta, t_act = timed(P.activation_patching, m, b, 'logit_diff')                   # the local default: 'torch'
    _, t_act_kv = timed(P.activation_patching, m, b, 'logit_diff', backend='kv')   # the nnsight key/value path
    tatp, t_atp = timed(attribution_patching, m, b, 'logit_diff')
    _, act_stats = P.activation_patching(m, b, 'logit_diff', comps=sub, return_stats=True)
    with torch.no_grad():
        start = time.perf_counter()
        with m.session(remote=False):
            corrupt = nnsight.save(P.activation_cache(m, b, 'corrupt'))
        t_co = time.perf_counter() - start
        with m.session(remote=False):
            clean = nnsight.save(P.activation_cache(m, b, 'clean'))
    naive_act, t_naive_act = timed(naive_loop, m, b, sub)
    orc, t_orc = timed(P.direct_oracle, m, b, sub)
    lens, t_lens = timed(lens_loop, bridge, b, sub)

    def diff(x, y):
        return float((x[..., :2] - y[..., :2]).abs().max())
    def scores(stats):
        return P.metric_score('logit_diff', stats, clean.stats, corrupt.stats)
    naive_act_total = t_co + t_naive_act / len(sub) * n_comps
    naive_path_total = t_co + t_orc / len(sub) * n_comps   # oracle time includes its 2 cache forwards: pessimistic
    lens_total = t_lens / len(sub) * n_comps                # includes its counterfactual run_with_cache once
    act_scores = torch.tensor(ta.score.values)[idx]
    res.update(
        seconds=dict(path=t_path, act=t_act, act_kv_nnsight=t_act_kv, atp=t_atp, naive_act_subset=t_naive_act, naive_path_oracle_subset=t_orc,
                     transformer_lens_subset=t_lens, counterfactual_forward=t_co,
                     naive_act_extrapolated=naive_act_total, naive_path_extrapolated=naive_path_total,
                     transformer_lens_extrapolated=lens_total),
        speedup=dict(path_vs_naive_loop=naive_act_total / t_path, path_vs_naive_oracle=naive_path_total / t_path,
                     act_vs_naive_loop=naive_act_total / t_act, act_vs_transformer_lens=lens_total / t_act,
                     act_kv_nnsight_vs_naive_loop=naive_act_total / t_act_kv,
                     atp_vs_naive_loop=naive_act_total / t_atp),
        max_abs_diff=dict(path_vs_oracle=diff(sp[idx], orc), act_vs_naive=diff(act_stats, naive_act),
                          act_vs_transformer_lens=diff(act_stats, lens), naive_vs_transformer_lens=diff(naive_act, lens),
                          act_score_vs_naive_score=float((act_scores - scores(naive_act)).abs().max()),
                          act_score_vs_transformer_lens_score=float((act_scores - scores(lens)).abs().max())),
        atp_vs_act=agreement(tatp, ta, ks=(10,), absolute=False).to_dict('records'),
        targets=dict(path_speedup=100, act_speedup=20, act_vs_transformer_lens=50, max_abs_diff=1e-4),
        note='naive and TransformerLens times measured on naive_subset and extrapolated per component to all '
             'components; diffs are over the answer logit and logit difference of every pair on that subset; scores '
             'are the normalised logit-difference scores (metric logit_diff) of the subset\'s components; '
             'TransformerLens: transformer_lens.model_bridge.TransformerBridge (4.x; HookedTransformer was removed in '
             '4.0) over the same HF weights, raw (no weight folding), one run_with_hooks per component',
        **provenance(model=a.model, seed=a.seed, transformer_lens=__import__('transformer_lens').__version__
                     if hasattr(__import__('transformer_lens'), '__version__') else None))
    res['command'] = 'python benchmarks/bench_locate.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    res['total_seconds'] = time.perf_counter() - t_start
    save_json(res, a.out)
    print(json.dumps({k: res[k] for k in ('seconds', 'speedup', 'max_abs_diff')}, indent=1))


if __name__ == '__main__': main()
