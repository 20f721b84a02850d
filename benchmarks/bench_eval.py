"""Multiple-choice log-likelihood throughput: the shared-prefix scorer (`evaluation.eval_mc`) against the previous one, same items, one run.

The previous scorer (main at 000a90d, frozen below as `old_eval_mc`) ran every (context, continuation) of every choice as a whole
sequence through nnsight, left-padded batches of 16 sorted by length, log-softmax over the full vocabulary at every position.
The new one encodes each item's shared token prefix once, expands its key/value cache to the choices and runs only the rest
of each choice on top (batches of 16 sequences, longest prefix first). Both score the same items of the five general sets
(the baseline's `n_general` first items each); the two run interleaved, `--repeats` rounds, alternating which goes first,
so both see the same background load; items/s is the median over rounds (also per set). The token bound is the ratio of
the tokens the two run through the model (whole sequences against shared prefixes once plus the rests): the speed-up a
scorer gets from saved tokens alone, set by how much of each item its choices share (a whole passage in BoolQ,
only the words before the blank in WinoGrande). Agreement: the largest |difference| of a choice's
log-likelihood and the number of items whose predicted choice (acc and acc_norm) differs.

Independent check: lm-evaluation-harness (`pip install lm-eval==0.4.13`), its `HFLM.loglikelihood` on the same (context,
continuation) requests of the ARC-Easy items, the same SmolLM2 weights, offline.

On a CPU shared with other jobs use `--threads 1`: with oversubscribed threads each operator waits for its threads to be
scheduled, the time follows the number of operators rather than the tokens, and the cached scorer's second forward per
batch costs as much as the first (measured: 0.74x with 2 threads at load 19 on 2 cores, 1.7x with 1 thread).

    python benchmarks/bench_eval.py --items 60 --repeats 3 --out benchmarks/eval.json
"""
from __future__ import annotations
import sys, time, argparse, platform, statistics
from pathlib import Path
import numpy as np, torch

SETS = ('arc-easy', 'arc-challenge', 'boolq', 'openbookqa', 'winogrande')

def old_eval_mc(model, items:list[dict], batch_size:int=16)->list[list[float]]:
    "The previous scorer (evaluation.seq_logprobs at 000a90d): per item, each choice's summed continuation log-probability"
    import nnsight
    from arith_interp.data import left_pad, pad_id
    from arith_interp.likelihood import _cont_tokens
    seqs = [_cont_tokens(model.tokenizer, c, k) for it in items for c, k in zip(it['contexts'], it['continuations'])]
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i][0]))
    out, pad = [0.0] * len(seqs), pad_id(model.tokenizer)
    with torch.no_grad():
        with model.session(remote=False):
            res = nnsight.save([])
            for s in range(0, len(order), batch_size):
                ids, mask = left_pad([seqs[i][0] for i in order[s:s + batch_size]], pad)
                with model.trace(input_ids=ids, attention_mask=mask):
                    lp = model.output.logits[:, :-1].float().log_softmax(-1)
                    res.append(lp.gather(-1, ids[:, 1:, None].to(lp.device)).squeeze(-1).detach().cpu())
    for s, lp in zip(range(0, len(order), batch_size), res):
        for j, i in enumerate(order[s:s + batch_size]):
            out[i] = lp[j, lp.shape[1] - seqs[i][1]:].sum().item()
    ends = np.cumsum([len(it['contexts']) for it in items]).tolist()
    return [out[end - len(it['contexts']):end] for it, end in zip(items, ends)]

def new_eval_mc(model, items:list[dict], batch_size:int=16)->list[list[float]]:
    "The shared-prefix scorer: per item, each choice's summed continuation log-probability"
    from arith_interp.evaluation import choice_logprobs
    return choice_logprobs(model, items, batch_size, remote=False)

def predictions(items, logprobs)->tuple[list[int], list[int]]:
    "Argmax choice by log-likelihood and by per-character log-likelihood, as `evaluation.eval_mc`"
    acc = [int(np.argmax(lp)) for lp in logprobs]
    norm = [int(np.argmax([l / max(1, len(k)) for l, k in zip(lp, it['continuations'])])) for lp, it in zip(logprobs, items)]
    return acc, norm

def timed(fn, model, sets:dict, batch_size:int)->tuple[dict, dict]:
    "Seconds to score each set, and the scores"
    secs, scores = {}, {}
    for name, items in sets.items():
        t0 = time.perf_counter()
        scores[name] = fn(model, items, batch_size)
        secs[name] = time.perf_counter() - t0
    return secs, scores

def token_counts(model, items:list[dict])->dict:
    "Tokens each scorer runs through the model: every whole sequence (old) and each shared prefix once plus the rests (new)"
    from arith_interp.likelihood import _cont_tokens, _shared_groups
    seqs = [[_cont_tokens(model.tokenizer, c, k) for c, k in zip(it['contexts'], it['continuations'])] for it in items]
    old = sum(len(ids) for item in seqs for ids, _ in item)
    new = sum(n + sum(len(item[i][0]) - n for i in members) for item in seqs for n, members in _shared_groups(item))
    return dict(old=old, new=new, bound=old / new)

def throughput(model, sets:dict, repeats:int, batch_size:int)->dict:
    "Interleaved rounds of old and new on the same items: items/s, ratio, agreement"
    n_items = sum(map(len, sets.values()))
    secs, per_set, scores = {'old': [], 'new': []}, {'old': [], 'new': []}, {}
    for r in range(repeats):
        pair = [('old', old_eval_mc), ('new', new_eval_mc)]
        for name, fn in (pair if r % 2 == 0 else pair[::-1]):
            s, scores[name] = timed(fn, model, sets, batch_size)
            secs[name].append(sum(s.values()))
            per_set[name].append(s)
            print(f'round {r} {name}: {sum(s.values()):.1f} s', file=sys.stderr)
    diff = max(abs(a - b) for n in sets for o, w in zip(scores['old'][n], scores['new'][n]) for a, b in zip(o, w))
    flips = {n: [sum(x != y for x, y in zip(po, pn)) for po, pn in zip(predictions(sets[n], scores['old'][n]),
                                                                   predictions(sets[n], scores['new'][n]))] for n in sets}
    med = {k: statistics.median(v) for k, v in secs.items()}
    set_med = {k: {n: statistics.median(s[n] for s in v) for n in sets} for k, v in per_set.items()}
    tokens = {n: token_counts(model, items) for n, items in sets.items()}
    return dict(n_items=n_items, n_sequences=sum(len(it['contexts']) for v in sets.values() for it in v), seconds=secs,
                items_per_s={k: n_items / v for k, v in med.items()}, speedup=med['old'] / med['new'],
                speedup_per_set={n: set_med['old'][n] / set_med['new'][n] for n in sets}, tokens_per_set=tokens,
                token_bound=sum(t['old'] for t in tokens.values()) / sum(t['new'] for t in tokens.values()),
                max_abs_diff_loglik=diff, pred_flips={n: f[0] for n, f in flips.items()},
                pred_norm_flips={n: f[1] for n, f in flips.items()}), scores

def harness_agreement(model, items:list[dict], ours:list[list[float]], batch_size:int)->dict:
    "lm-evaluation-harness HFLM.loglikelihood on the same (context, continuation) requests, against `ours`"
    import lm_eval
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM
    from arith_interp.models import hf_module
    from arith_interp.evaluation import regroup
    lm = HFLM(pretrained=hf_module(model), tokenizer=model.tokenizer, batch_size=batch_size, device='cpu')
    requests = [Instance(request_type='loglikelihood', doc=it, arguments=(c, k), idx=j)
                for it in items for j, (c, k) in enumerate(zip(it['contexts'], it['continuations']))]
    t0 = time.perf_counter()
    theirs = [ll for ll, _ in lm.loglikelihood(requests, disable_tqdm=True)]
    seconds = time.perf_counter() - t0
    flat = [x for lp in ours for x in lp]
    theirs_by_item = regroup(theirs, [it['contexts'] for it in items])
    ours_pred, ours_norm = predictions(items, ours)
    their_pred, their_norm = predictions(items, theirs_by_item)
    return dict(lm_eval=lm_eval.__version__, set='arc-easy', n_items=len(items), n_requests=len(requests),
                max_abs_diff_loglik=max(abs(a - b) for a, b in zip(flat, theirs)),
                pred_agree=sum(a == b for a, b in zip(ours_pred, their_pred)),
                pred_norm_agree=sum(a == b for a, b in zip(ours_norm, their_norm)),
                accuracy_ours=float(np.mean([p == it['label'] for p, it in zip(ours_pred, items)])),
                accuracy_harness=float(np.mean([p == it['label'] for p, it in zip(their_pred, items)])),
                harness_seconds=seconds)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', default='smollm2-135m')
    p.add_argument('--items', type=int, default=60, help='first N items of each general set (the default budget: 60)')
    p.add_argument('--repeats', type=int, default=3, help='interleaved rounds')
    p.add_argument('--batch-size', type=int, default=16, help='sequences per forward (both scorers)')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--data', default=None, help='data folder (default ARITH_INTERP_DATA)')
    p.add_argument('--no-harness', action='store_true', help='skip the lm-evaluation-harness check')
    p.add_argument('--out', default='benchmarks/eval.json')
    a = p.parse_args(argv)
    from arith_interp.core import save_json, provenance
    from arith_interp.models import load_model
    from arith_interp.benchmarks import load_benchmark
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    model = load_model(a.model, device='cpu')
    sets = {name: load_benchmark(name, 'test', a.data, limit=a.items) for name in SETS}
    new_eval_mc(model, sets['arc-easy'][:1], a.batch_size)   # warm-up
    old_eval_mc(model, sets['arc-easy'][:1], a.batch_size)
    result, scores = throughput(model, sets, a.repeats, a.batch_size)
    if not a.no_harness:
        result['harness'] = harness_agreement(model, sets['arc-easy'], scores['new']['arc-easy'], a.batch_size)
    result |= dict(target_speedup=3.0, meets_target=result['speedup'] >= 3.0, sets=list(SETS), items_per_set=a.items,
                   batch_size=a.batch_size, threads=torch.get_num_threads(),
                   machine=dict(platform=platform.platform(), cpu_threads=torch.get_num_threads()),
                   **provenance(a.model, None))
    save_json(result, a.out)
    print({k: result[k] for k in ('items_per_s', 'speedup', 'max_abs_diff_loglik', 'pred_flips', 'pred_norm_flips')})
    if 'harness' in result:
        print(result['harness'])

if __name__ == '__main__':
    main()
