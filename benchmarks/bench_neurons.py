"""Benchmark neuron-level locate (issue 27) against a naive loop: AtP over every neuron of every layer (one forward and
one backward), and exact activation patching of the top `--top` neurons by |AtP| (batched: several neurons per forward,
the clean prefix once through the key/value cache) against one plain HF forward per neuron with a pre-hook on
`down_proj` (timed on a seeded random `--naive` of them, extrapolated per neuron). Max absolute difference of the stats
on that subset. Not a timed test; run it on an idle machine:

    python benchmarks/bench_neurons.py --pairs 32 --top 200 --out benchmarks/neurons.json
    python benchmarks/bench_neurons.py --model tiny --pairs 4 --top 20 --naive 5 --out /tmp/neurons_tiny.json   # check
"""
import argparse, json, platform, random, time
import torch, nnsight
from arith_interp.core import provenance, save_json
from arith_interp.models import load, hf_module
from arith_interp.data import make_pairs, encode_pairs
from arith_interp.sites import neuron_site
from arith_interp.patching import fwd_kw, logit_stats
from arith_interp import neurons as N


def timed(fn, *args, **kwargs):
    "(result, seconds) of one call"
    start = time.perf_counter()
    return fn(*args, **kwargs), time.perf_counter() - start


def naive(model, batch, comps, values):
    "Stats [N, B, 3]: one plain forward per neuron, its last-position down_proj input replaced by a pre-hook"
    hf, out = hf_module(model), []
    for c in comps:
        def hook(mod, args, c=c):
            x = args[0].clone()
            x[:, -1, c.neuron] = values[:, c.layer, c.neuron]
            return (x,)
        handle = neuron_site(hf, c.layer).register_forward_pre_hook(hook)
        with torch.no_grad():
            out.append(logit_stats(hf(**fwd_kw(batch.clean, batch.mask)).logits[:, -1], batch.answer, batch.corrupt_answer))
        handle.remove()
    return torch.stack(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='smollm2-135m')
    ap.add_argument('--pairs', type=int, default=32)
    ap.add_argument('--top', type=int, default=200)
    ap.add_argument('--naive', type=int, default=20, help='neurons timed with the naive loop (extrapolated)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default='benchmarks/neurons.json')
    a = ap.parse_args()
    model = load(a.model)
    recs = make_pairs(model.tokenizer, ops=('+',), styles='equation', cf='resample', k_shot=4, seed=a.seed)
    batch = encode_pairs(model.tokenizer, random.Random(a.seed).sample(recs, min(a.pairs, len(recs))))
    atp, t_atp = timed(N.neuron_attribution, model, batch, 'logit')
    chosen = atp.loc[atp.score.abs().sort_values(ascending=False).index[:a.top], 'component'].tolist()
    (_, stats), t_exact = timed(N.neuron_patching, model, batch, chosen, 'logit', return_stats=True)
    with torch.no_grad(), model.session(remote=False):
        corrupt = nnsight.save(N.neuron_cache(model, batch, 'corrupt'))
    idx = sorted(random.Random(a.seed).sample(range(len(chosen)), min(a.naive, len(chosen))))
    ref, t_naive = timed(naive, model, batch, [N.Component.parse(chosen[i]) for i in idx], corrupt[0])
    res = dict(model=a.model, pairs=len(batch), neurons=len(atp), top=len(chosen), atp_seconds=round(t_atp, 2),
               exact_seconds=round(t_exact, 2), naive_seconds_per_neuron=round(t_naive / len(idx), 3),
               naive_seconds_extrapolated=round(t_naive / len(idx) * len(chosen), 1),
               speedup=round(t_naive / len(idx) * len(chosen) / t_exact, 2),
               max_abs_diff=float((stats[idx][..., :2] - ref[..., :2]).abs().max()),
               machine=platform.processor() or platform.machine(), threads=torch.get_num_threads())
    save_json({**res, **provenance(a.model, a.seed)}, a.out)
    print(json.dumps(res, indent=1))


if __name__ == '__main__':
    main()
