"Unit tests of arith_interp.lrp on the tiny model: rules restored on exit, other models untouched, linear identity, conservation."
import torch, pytest
from arith_interp.models import tiny_model, hf_module
from arith_interp.sites import embed_site
from arith_interp.lrp import attnlrp, input_relevance, relevance, conservation, lrp_scores

IDS = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 11, 12, 13]])

def _grad(model):
    hf = hf_module(model)
    e = embed_site(hf)(IDS).detach().requires_grad_(True)
    lg = hf(inputs_embeds=e).logits[:, -1]
    return lg.detach(), torch.autograd.grad(lg[:, 3].sum(), e)[0]

def _hooks(model): return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in hf_module(model).modules())

def test_rules_restored_and_local():
    a, b = tiny_model(seed=0), tiny_model(seed=1)
    (la, ga), (lb, gb) = _grad(a), _grad(b)
    with attnlrp(a):
        la2, ga2 = _grad(a)
        assert torch.equal(la2, la) and not torch.allclose(ga2, ga)
        lb2, gb2 = _grad(b)
        assert torch.equal(lb2, lb) and torch.equal(gb2, gb)
    assert _hooks(a) == 0
    la3, ga3 = _grad(a)
    assert torch.equal(la3, la) and torch.equal(ga3, ga)

def test_linear_identity():
    torch.manual_seed(0)
    W1, W2 = torch.randn(5, 3, dtype=torch.float64), torch.randn(1, 5, dtype=torch.float64)
    x = torch.randn(4, 3, dtype=torch.float64)
    R = input_relevance(lambda x: (x @ W1.T @ W2.T)[:, 0], x)
    torch.testing.assert_close(R, x * (W2 @ W1))                      # LRP-0 of a linear map = gradient x input
    torch.testing.assert_close(R.sum(1), (x @ W1.T @ W2.T)[:, 0])    # and it is conserved

def test_conservation_final_residual():
    m = tiny_model(seed=0)
    r = relevance(m, IDS, torch.tensor([4, 5]), torch.tensor([6, 7]))
    torch.testing.assert_close(r.resid[:, -1], r.target, rtol=1e-4, atol=1e-5)
    c = conservation(r)
    assert c.site.iloc[-1] == 'final' and abs(c.ratio.iloc[-1] - 1) < 1e-4

def test_remote_refused():
    m = tiny_model(seed=0)
    b = type('B', (), dict(clean=IDS, mask=torch.ones_like(IDS), answer=torch.tensor([4, 5]), corrupt_answer=torch.tensor([6, 7])))
    with pytest.raises(ValueError, match='LRP runs only on a local model'): lrp_scores(m, b, remote='local')
    assert len(lrp_scores(m, b)) == 2 * 4 + 2

def test_cli_locate_lrp(tmp_path):
    import subprocess, sys, pandas as pd
    from arith_interp.models import digit_tokenizer
    from arith_interp.data import make_pairs, write_jsonl
    write_jsonl(make_pairs(digit_tokenizer(), ops=('+',), n=6, cf='resample', seed=0), tmp_path/'p.jsonl')
    args = ['locate', '--method', 'lrp', '--metric', 'logit_diff', '--model', 'tiny', '--pairs', str(tmp_path/'p.jsonl'), '--out', str(tmp_path/'s.csv')]
    cmd = [sys.executable, '-c', f'from arith_interp.cli import main; raise SystemExit(main({args!r}))']
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    df = pd.read_csv(tmp_path/'s.csv')
    assert set(df.method) == {'lrp'} and len(df) == 2 * 4 + 2
