"Exactness of arith_interp.edges, .edge_attribution and .circuits against a brute-force per-edge hook implementation (tiny GQA model, CPU, seconds)"
import copy
import pytest, torch
from arith_interp.models import tiny_model, hf_module
from arith_interp.data import make_pairs, encode_pairs
from arith_interp.patching import fwd_kw, logit_stats, metric_score, path_patching
from arith_interp import edges as E, edge_attribution as A, circuits as C


@pytest.fixture(scope='module')
def setup():
    m = tiny_model(n_layers=3, seed=2)            # 4 query heads share 2 key/value heads
    b = encode_pairs(m.tokenizer, make_pairs(m.tokenizer, ops=('+', '*'), n=6, cf='resample', seed=3))
    return m, b


def ungrouped(hf):
    "An MHA copy of a GQA model: each query head gets its own copy of its group's k/v rows (same function)"
    cfg = copy.deepcopy(hf.config)
    group, d_head = cfg.num_attention_heads // cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads
    cfg.num_key_value_heads = cfg.num_attention_heads
    new = type(hf)(cfg).eval()
    state = hf.state_dict()
    for k, v in list(state.items()):
        if k.endswith(('k_proj.weight', 'v_proj.weight')):
            state[k] = v.view(-1, d_head, v.shape[-1]).repeat_interleave(group, 0).reshape(-1, v.shape[-1])
    new.load_state_dict(state)
    return new


def run_nodes(hf, ids, mask):
    "embeddings, o_proj inputs and MLP outputs at every position, by plain hooks"
    got, hs = {}, []
    hs.append(hf.model.embed_tokens.register_forward_hook(lambda mod, i, o: got.__setitem__('input', o)))
    for l, layer in enumerate(hf.model.layers):
        hs.append(layer.self_attn.o_proj.register_forward_hook(lambda mod, i, o, l=l: got.__setitem__(('z', l), i[0])))
        hs.append(layer.mlp.register_forward_hook(lambda mod, i, o, l=l: got.__setitem__(f'm{l}', o)))
    with torch.no_grad():
        logits = hf(**fwd_kw(ids, mask)).logits[:, -1]
    for h in hs: h.remove()
    return got, logits


def output(hf, got, name):
    if name == 'input' or name.startswith('m'):
        return got[name]
    l, h = (int(x[1:]) for x in name.split('.'))
    dh = hf.config.hidden_size // hf.config.num_attention_heads
    cols = slice(h * dh, (h + 1) * dh)
    return got[('z', l)][..., cols] @ hf.model.layers[l].self_attn.o_proj.weight[:, cols].T


def brute_force(hf, b, sender, receiver, clean, corrupt):
    "Stats [B, 3] with the one edge sender->receiver counterfactual (one hooked forward)"
    delta = output(hf, corrupt, sender) - output(hf, clean, sender)
    node, ch = E._node_channel(receiver)
    hs = []
    if ch:
        l, h = (int(x[1:]) for x in node.split('.'))
        layer, dh = hf.model.layers[l], hf.config.hidden_size // hf.config.num_attention_heads
        seen = {}
        hs.append(layer.input_layernorm.register_forward_pre_hook(lambda mod, a: [seen.setdefault('x', a[0])] and None))
        proj = getattr(layer.self_attn, f'{ch}_proj')
        def swap(mod, a, o):
            o = o.clone()
            new = torch.nn.functional.linear(layer.input_layernorm(seen['x'] + delta), mod.weight, mod.bias)
            o[..., h * dh:(h + 1) * dh] = new[..., h * dh:(h + 1) * dh]
            return o
        hs.append(proj.register_forward_hook(swap))
    else:
        site = hf.model.norm if node == 'logits' else hf.model.layers[int(node[1:])].post_attention_layernorm
        hs.append(site.register_forward_pre_hook(lambda mod, a: (a[0] + delta,)))
    with torch.no_grad():
        logits = hf(**fwd_kw(b.clean, b.mask)).logits[:, -1]
    for x in hs: x.remove()
    return logit_stats(logits, b.answer, b.corrupt_answer)


def test_ungrouped_copy_is_the_same_model(setup):
    m, b = setup
    hf = hf_module(m)
    assert (run_nodes(hf, b.clean, b.mask)[1] - run_nodes(ungrouped(hf), b.clean, b.mask)[1]).abs().max() < 1e-5


@pytest.mark.parametrize('receiver', ['a1.h2<q>', 'a1.h3<k>', 'a2.h0<v>', 'a2.h1<k>', 'm1', 'logits'])
@pytest.mark.parametrize('metric', ['logit_diff', 'prob'])
@pytest.mark.parametrize('backend', ['torch', 'nnsight'])
def test_exact_matches_brute_force(setup, receiver, metric, backend):
    "Every edge into q, k (GQA, per query head), v, MLP and logit receivers: one batched forward (plain torch from the receiver's layer, or an nnsight trace) = one hooked forward per edge"
    m, b = setup
    hf = ungrouped(hf_module(m))
    clean, clean_logits = run_nodes(hf, b.clean, b.mask)
    corrupt, corrupt_logits = run_nodes(hf, b.corrupt, b.mask)
    cs, ks = (logit_stats(x, b.answer, b.corrupt_answer) for x in (clean_logits, corrupt_logits))
    tab = E.edge_patching(m, b, receiver, metric=metric, backend=backend)
    assert len(tab) > 1
    for edge, sender, score in zip(tab.edge, tab.sender, tab.score):
        ref = metric_score(metric, brute_force(hf, b, sender, receiver, clean, corrupt), cs, ks)
        assert abs(score - ref.item()) <= 1e-5, edge


def test_remote_local_and_chunks_match(setup):
    m, b = setup
    a = E.edge_patching(m, b, 'a2.h3,m0,logits')
    r = E.edge_patching(m, b, 'a2.h3,m0,logits', remote='local')
    c = E.edge_patching(m, b, 'a2.h3,m0,logits', rows=2 * len(b))
    assert list(a.edge) == list(r.edge) == list(c.edge)
    assert (a.score - r.score).abs().max() <= 1e-5 and (a.score - c.score).abs().max() <= 1e-5


@pytest.mark.parametrize('metric', ['logit', 'logit_diff', 'prob'])
def test_logit_edges_are_path_patching(setup, metric):
    "path_patching scores each component's last-position write through the clean final residual: the edge into logits"
    m, b = setup
    direct = path_patching(m, b, metric).set_index('component').score
    tab = E.edge_patching(m, b, 'logits', metric=metric).set_index('sender').score.drop('input')
    assert (tab.loc[direct.index] - direct).abs().max() <= 1e-5 * max(1, direct.abs().max())   # float32, |score| ~ 3


def test_circuit_without_one_edge_is_exact(setup):
    m, b = setup
    g = E.graph_of(m)
    tab = E.edge_patching(m, b, 'a2.h1<v>', metric='logit_diff')
    frame = E.edge_frame(g).set_index('edge')
    circuits = []
    for edge in tab.edge[:4]:
        c = E.Graph(**g.cfg, in_graph=E.real_edges(g))
        c.in_graph[tuple(frame.loc[edge, ['s', 'r']])] = False
        circuits.append(c)
    f = C.faithfulness(m, b, circuits, 'logit_diff')
    assert (f.m.values - 1 - tab.score[:4].values).__abs__().max() <= 1e-4   # clean logit_diff metric is 1


def test_json_round_trip(setup, tmp_path):
    m, b = setup
    _, g = A.edge_attribution(m, b, 'eap', return_graph=True)
    c = C.greedy(g, 20)
    back = C.read_graph(C.write_graph(c, tmp_path/'g.json'))
    assert back.cfg == c.cfg and torch.equal(back.in_graph, c.in_graph)
    assert (back.scores - c.scores).abs().max() < 1e-6
    d = C.load_json(tmp_path/'g.json')
    assert set(d) == {'cfg', 'nodes', 'edges'} and len(d['edges']) == int(E.real_edges(g).sum())
    assert all(set(v) == {'score', 'in_graph'} for v in d['edges'].values())


def test_bad_input_fails_before_work(setup, tmp_path):
    m, b = setup
    with pytest.raises(ValueError, match='not a receiver name'):
        E.edge_patching(m, b, 'a1.h2,attn3')
    with pytest.raises(ValueError, match='outside the model'):
        E.edge_patching(m, b, 'a7.h0')
    with pytest.raises(ValueError, match='metric='):
        E.edge_patching(m, b, 'm0', metric='kl')
    with pytest.raises(ValueError, match='ig='):
        A.edge_attribution(m, b, 'eap-ig', ig='weights')
    (tmp_path/'bad.json').write_text('{"cfg": {"n_layers": 3}, "nodes": {}, "edges": {}}')
    with pytest.raises(ValueError, match='cfg lacks'):
        C.read_graph(tmp_path/'bad.json')
    (tmp_path/'bad.json').write_text('{"cfg": {"n_layers": 3, "n_heads": 4, "d_model": 32, "parallel_attn_mlp": false}, '
                                     '"nodes": {}, "edges": {"m2->a0.h0<q>": {"score": 1, "in_graph": true}}}')
    with pytest.raises(ValueError, match='not in a 3-layer'):
        C.read_graph(tmp_path/'bad.json')


def test_cli_circuit(tmp_path):
    "arith-interp circuit writes edges.csv (the edges into --receivers) and graph.json (every edge); bad input exits 2 first"
    import contextlib, io, json
    from arith_interp.cli import main
    from arith_interp.data import write_jsonl
    m = tiny_model()
    write_jsonl(make_pairs(m.tokenizer, ops=('+',), n=4, cf='resample', seed=0), tmp_path/'p.jsonl')
    args = ['circuit', '--model', 'tiny', '--pairs', str(tmp_path/'p.jsonl'), '--steps', '2', '--receivers', 'a1.h3,m1']
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(args + ['--method', 'eap-ig', '--out', str(tmp_path/'ig')]) == 0
        assert main(args + ['--method', 'exact', '--out', str(tmp_path/'ex')]) == 0
        assert main(args + ['--method', 'eap', '--out', str(tmp_path/'ig')]) == 2              # exists: --overwrite
        assert main(['circuit', '--model', 'tiny', '--pairs', str(tmp_path/'p.jsonl'), '--receivers', 'a9.h0',
                     '--out', str(tmp_path/'bad')]) == 2
    assert 'outside the model' in err.getvalue() and not (tmp_path/'bad'/'edges.csv').exists()
    import pandas as pd
    tab = pd.read_csv(tmp_path/'ig'/'edges.csv')
    assert list(tab.columns[:6]) == ['edge', 'sender', 'receiver', 'channel', 'score', 'n_pairs']
    assert len(tab) == 3 * 6 + 10 and set(tab.receiver) == {'a1.h3', 'm1'}
    g = json.loads((tmp_path/'ex'/'graph.json').read_text())
    assert len(g['edges']) == 110 and g['cfg']['n_layers'] == 2
    assert C.read_graph(tmp_path/'ig'/'graph.json').scores.abs().sum() > 0


def test_circuit_evaluation_traced_matches_plain(setup):
    "Circuit evaluation through nnsight (remote=False traced, and remote='local') = the plain-torch forward"
    m, b = setup
    g = E.graph_of(m)
    _, scored = A.edge_attribution(m, b, 'eap', return_graph=True)
    circuits = [C.top_n(scored, n) for n in (5, 40, 200)] + [C.greedy(scored, 60), E.Graph(**g.cfg, in_graph=E.real_edges(g))]
    plain = C.circuit_stats(m, b, circuits, batch_size=4)
    traced = C.circuit_stats(m, b, circuits, backend='nnsight')
    local = C.circuit_stats(m, b, circuits, remote='local')
    assert (plain - traced)[..., :2].abs().max() <= 1e-5 and (traced - local).abs().max() <= 1e-5
    fa = C.faithfulness(m, b, circuits[:2], remote='local')
    assert (fa.f.values - C.faithfulness(m, b, circuits[:2]).f.values).__abs__().max() <= 1e-4
