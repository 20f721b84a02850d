"""Benchmark edge scoring (arith_interp.edges, .edge_attribution) against a naive loop of one nnsight forward per edge.

    python benchmarks/bench_edges.py --pairs 32 --out benchmarks/edges.json

On SmolLM2-135M: the top-10 heads of path patching (relative answer logit, as the paper ranks them) on the same pairs
are the receivers; every edge into their q, k and v inputs is scored exactly (the default local path: plain torch from
the receiver's layer on, and the nnsight path: one traced forward per receiver over all its edges), and every edge of
the model is scored by EAP-IG (`--steps` steps over the inputs). The reference is the naive loop: one traced forward
per edge (B rows, only that edge counterfactual), timed on a seeded random subset of `--naive-edges` edges into those
receivers and extrapolated per edge to all of them (for EAP-IG: to every edge of the model). The maximum absolute
difference of the exact scores and the naive loop's is measured on that subset. Not a timed test.
"""
import argparse, os, platform, random, time
import torch, nnsight
from arith_interp.core import provenance, save_json
from arith_interp.models import load_model, tiny_model, hf_module
from arith_interp.data import make_pairs, encode_pairs
from arith_interp.patching import path_patching, metric_score
from arith_interp.ranking import top_k
from arith_interp import edges as E, edge_attribution as A


def pairs(model, n, seed):
    "n few-shot single-digit addition pairs (resampled counterfactual)"
    recs = make_pairs(model.tokenizer, ops=('+',), styles='equation', cf='resample', k_shot=4, seed=seed)
    random.Random(seed).shuffle(recs)
    return encode_pairs(model.tokenizer, recs[:n])


def timed(fn, *args, **kwargs):
    "(result, seconds) of one call"
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def naive_loop(model, batch, g, edges, metric='logit_diff'):
    "Scores of `edges` (rows of `edges.edge_frame`): one traced forward per edge"
    with torch.no_grad(), model.session(remote=False):
        clean, corrupt = E.node_cache(model, batch, 'clean'), E.node_cache(model, batch, 'corrupt')
        out = []
        for s, r in zip(edges.s, edges.r):
            layer = E._receiver_layer(g, r)
            scaling = E._scaling(model, layer) if layer < g.n_layers else 1.0
            delta = E.sender_deltas(g, clean, corrupt, [int(s)])
            out.append(E._receiver_stats(model, batch, g, int(r), delta, scaling)[0])
        stats = nnsight.save(torch.stack(out))
        cs, ks = nnsight.save(clean.stats), nnsight.save(corrupt.stats)
    return metric_score(metric, stats, cs, ks)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='smollm2-135m', help="'smollm2-135m' or 'tiny' (a check of the script)")
    p.add_argument('--pairs', type=int, default=32)
    p.add_argument('--top', type=int, default=10, help='receivers: q, k, v of the top heads of path patching')
    p.add_argument('--naive-edges', type=int, default=20)
    p.add_argument('--steps', type=int, default=5, help='EAP-IG steps')
    p.add_argument('--batch-size', type=int, default=8, help='EAP-IG pairs per forward')
    p.add_argument('--rows', type=int, default=512, help='exact edge patching: rows per forward')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--device', default=None, help='cpu or cuda (default: the best available)')
    p.add_argument('--skip-traced', action='store_true', help='time only the local fast path of exact edge patching')
    p.add_argument('--out', default='benchmarks/edges.json')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    t_start, load_before = time.perf_counter(), os.getloadavg()
    m = tiny_model(n_layers=3) if a.model == 'tiny' else load_model(a.model, device=a.device)
    b = pairs(m, a.pairs, a.seed).to(next(hf_module(m).parameters()).device)
    g = E.graph_of(m)
    heads = top_k(path_patching(m, b, 'logit'), a.top, 'head')
    receivers = E.receiver_indices(g, heads)
    frame = E.edge_frame(g)
    into = frame[frame.r.isin(receivers)].reset_index(drop=True)
    sub = into.iloc[sorted(random.Random(a.seed).sample(range(len(into)), min(a.naive_edges, len(into))))]
    E.edge_patching(m, b[:2], heads[:1], rows=a.rows)                  # warm-up (nnsight parses sources once)
    if not a.skip_traced:
        E.edge_patching(m, b[:2], heads[:1], rows=a.rows, backend='nnsight')
    naive_loop(m, b[:2], g, sub.iloc[:1])

    exact, t_exact = timed(E.edge_patching, m, b, heads, rows=a.rows)
    traced, t_traced = (None, None) if a.skip_traced else timed(E.edge_patching, m, b, heads, rows=a.rows, backend='nnsight')
    _, t_eapig = timed(A.edge_attribution, m, b, 'eap-ig', steps=a.steps, batch_size=a.batch_size)
    naive, t_naive = timed(naive_loop, m, b, g, sub)
    per_edge = t_naive / len(sub)
    exact_scores = exact.set_index('edge').score.loc[list(sub.edge)].values
    n_all = int(E.real_edges(g).sum())
    res = dict(model=a.model, n_pairs=len(b), prompt_tokens=b.clean.shape[1], receivers=heads, n_receivers=len(receivers),
               n_edges_into_receivers=len(into), n_edges_total=n_all, naive_subset=list(sub.edge), torch_threads=a.threads,
               machine=platform.processor() or platform.machine(), device=str(b.clean.device),
               eap_ig_steps=a.steps, rows=a.rows,
               seconds=dict(exact_fast=t_exact, exact_traced=t_traced, eap_ig=t_eapig, naive_subset=t_naive,
                            naive_per_edge=per_edge),
               naive_extrapolated_seconds=dict(edges_into_receivers=per_edge * len(into), all_edges=per_edge * n_all),
               speedup=dict(exact_fast=per_edge * len(into) / t_exact,
                            exact_traced=None if traced is None else per_edge * len(into) / t_traced,
                            eap_ig_all_edges=per_edge * n_all / t_eapig),
               max_abs_diff=dict(exact_fast_vs_naive=float(abs(exact_scores - naive.numpy()).max()),
                                 exact_traced_vs_fast=None if traced is None else float((exact.score - traced.score).abs().max())),
               total_seconds=time.perf_counter() - t_start,
               load_average=dict(start=load_before, end=os.getloadavg()))   # other work on the machine, 1/5/15 min
    save_json({**res, 'provenance': provenance(a.model, a.seed, args=vars(a))}, a.out)
    print({k: res[k] for k in ('speedup', 'max_abs_diff', 'seconds')})


if __name__ == '__main__':
    main()
