"Neuron components: slices of a neuron tuned by the unchanged Precise SFT machinery (frozen weights bit-identical, exact PEFT round trip); neuron-level locate."
import copy, os, subprocess, sys
import pytest, torch
from arith_interp.models import tiny_model, hf_module, model_name
from arith_interp.sites import Component, spec, parse_components
from arith_interp.sft import (DeltaAdapter, component_slices, component_masks, delta_adapter, make_tuner, train, save_peft,
                              load_adapter, merge_adapter, tokenize_examples, arithmetic_examples, peft_tensors)

NEURONS = parse_components('m0.n3,m0.n40,m1.n0,m1.n63')
IDS = torch.tensor([[3, 4, 12, 5, 16, 7]])

def _data(m, n=48): return tokenize_examples(m.tokenizer, arithmetic_examples(n, seed=0), seq=16)
def _logits(m): return hf_module(m)(IDS).logits.detach()

def test_neuron_masks_are_rows_and_a_column():
    m = tiny_model()
    masks = component_masks(m, [Component(1, neuron=7)])
    assert sorted(n.split('.')[-2] for n in masks) == ['down_proj', 'gate_proj', 'up_proj']
    for name, mk in masks.items():
        want = torch.zeros_like(mk)
        if 'down_proj' in name: want[:, 7] = True
        else: want[7] = True
        assert torch.equal(mk, want), name

def test_delta_adapter_over_neurons_keeps_frozen_weights_bit_identical():
    m = tiny_model(); base = copy.deepcopy(hf_module(m).state_dict())
    t = make_tuner(m, 'precise', NEURONS)
    assert t.n_params() == len(NEURONS) * 3 * spec(m).d_model
    train(m, t, _data(m), steps=4, batch=8, lr=1e-2, weight_decay=0.1)
    assert all(torch.equal(v, hf_module(m).state_dict()[k]) for k, v in base.items())   # hooked: base untouched
    assert all(p.abs().sum() > 0 for p in t.params())                                   # every delta trained
    masks = component_masks(m, NEURONS)
    merged = hf_module(t.merge()).state_dict()
    changed = {k for k, v in base.items() if not torch.equal(v, merged[k])}
    assert changed == set(masks)
    for k in changed: assert torch.equal(merged[k][~masks[k]], base[k][~masks[k]])

def test_neuron_adapter_peft_round_trip_is_exact(tmp_path):
    m = tiny_model(); t = make_tuner(m, 'precise', NEURONS)
    train(m, t, _data(m), steps=3, batch=8, lr=1e-2)
    want = _logits(m)
    t.save(tmp_path/'ad', model=model_name(m))
    fresh = tiny_model(); ad = load_adapter(fresh, tmp_path/'ad')
    assert all(torch.equal(a, b) for a, b in zip(ad.deltas, t.adapter.deltas))        # deltas read back bit-exact
    assert torch.equal(_logits(fresh), want)
    assert torch.allclose(_logits(merge_adapter(tiny_model(), tmp_path/'ad')), want, atol=1e-5)
    plain = tiny_model(); hf_module(plain).load_adapter(str(tmp_path/'ad'))           # transformers' own PEFT loader
    assert torch.allclose(_logits(plain), want, atol=1e-5)
    tensors, ranks = peft_tensors(t.adapter)
    assert ranks['model.layers.0.mlp.down_proj'] == 2 and ranks['model.layers.1.mlp.gate_proj'] == 2   # rank = neurons
