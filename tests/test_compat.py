"""Every private API of another library that arith_interp uses (arith_interp.compat, nbs/00a_compat.ipynb) still exists
with the shape we rely on; each failure names the library, its installed version and the version compat was written for.
And no module but compat touches another library's private names."""
import inspect, io, pathlib
import pytest, torch
from arith_interp import compat
from arith_interp.compat import PRIVATE, private_errors, broken, library_version
from arith_interp.layout import private_uses
ROOT = pathlib.Path(__file__).parents[1]

STATIC = [p for p in PRIVATE if not p.instance]
INSTANCE = [p for p in PRIVATE if p.instance]

@pytest.mark.parametrize('p', STATIC, ids=lambda p: f'{p.library}:{p.owner}.{p.name}')
def test_private_name_still_there(p):
    errors = private_errors(p)
    assert not errors, '\n'.join(errors)

@pytest.fixture(scope='module')
def tiny():
    from arith_interp.models import tiny_model
    return tiny_model()

@pytest.mark.parametrize('p', INSTANCE, ids=lambda p: f'{p.library}:{p.owner}.{p.name}')
def test_private_instance_attribute_still_there(p, tiny):
    obj = tiny.interleaver if p.name == 'interleaving' else tiny
    errors = private_errors(p, obj)
    assert not errors, '\n'.join(errors)

def test_a_changed_private_api_fails_loudly_with_the_version():
    gone = compat.Private('nnsight', 'nnsight.intervention.backends.local:LocalSimulationBackend', '_restore',
                          ('self', 'hidden', 'extra'))
    [msg] = private_errors(gone)
    assert msg.startswith(f"nnsight {library_version('nnsight')} (arith_interp.compat was written for 0.8.1)")
    assert '_restore' in msg and 'compat.py' in msg
    missing = compat.Private('cloudpickle', 'cloudpickle.cloudpickle', '_NO_SUCH_NAME')
    assert 'cloudpickle ' + library_version('cloudpickle') in private_errors(missing)[0]
    nomodule = compat.Private('nnsight', 'nnsight.no_such_module:X', 'y')
    assert 'cannot be found' in private_errors(nomodule)[0]

def test_every_library_in_the_table_is_pinned_at_its_tested_version():
    "A different installed version is not an error by itself, but the message must then say which one runs"
    for library, tested in compat.TESTED.items():
        assert library_version(library) != 'not installed', library
        assert tested in broken(library, 'x')

def test_hf_module_reads_nnsights_module(tiny):
    hf = compat.hf_module(tiny)
    assert isinstance(hf, torch.nn.Module) and type(hf).__name__ == 'LlamaForCausalLM'
    assert compat.hf_module(hf) is hf

def test_interleaving_is_true_only_inside_a_trace(tiny):
    seen = []
    hook = compat.hf_module(tiny).register_forward_pre_hook(lambda m, a: seen.append(compat.interleaving(tiny)))
    try:
        compat.hf_module(tiny)(torch.tensor([[3, 4]]))
        with torch.no_grad(), tiny.trace(torch.tensor([[3, 4]])): pass
    finally: hook.remove()
    assert seen == [False, True]

def test_simulated_server_calls_start_and_stop_around_a_request(tiny):
    import nnsight
    calls = []
    with compat.simulated_server(lambda: calls.append('start'), lambda: calls.append('stop')):
        with torch.no_grad(), tiny.trace(torch.tensor([[3, 4]]), remote='local'):
            out = nnsight.save(tiny.lm_head.output)
    assert calls[:2] == ['start', 'stop'] and out.shape[0] == 1

def test_pickled_by_value_sees_registration():
    import cloudpickle, fastcore
    assert not compat.pickled_by_value('fastcore.test')
    cloudpickle.register_pickle_by_value(fastcore)
    try: assert compat.pickled_by_value('fastcore.test')
    finally: cloudpickle.unregister_pickle_by_value(fastcore)

def test_marks_leave_the_object_untouched_and_go_with_it():
    import gc
    m = torch.nn.Linear(2, 2)
    before = set(vars(m))
    compat.mark(m, 'attnlrp')
    assert compat.marked(m, 'attnlrp') and set(vars(m)) == before
    gc.collect()                                   # marked objects of earlier tests that are already garbage go first
    n = len(compat._MARKS)
    del m
    gc.collect()
    assert len(compat._MARKS) == n - 1

def test_trainer_hooks_dispatch_to_public_names(tmp_path):
    from transformers import TrainingArguments
    class Mine(compat.trainer_with_hooks()):
        def train_sampler(self, dataset): return ('sampler', dataset)
        def save_weights(self, output_dir, state_dict): self.saved = output_dir
    t = Mine.__new__(Mine)
    assert t._get_train_sampler([1]) == ('sampler', [1])
    t._save(str(tmp_path))
    assert t.saved == str(tmp_path)
    sig = inspect.signature(Mine._save_checkpoint)
    assert list(sig.parameters) == ['self', 'model', 'trial']

def test_tqdm_default_file_redirects_and_undoes():
    import tqdm.std
    buf = io.StringIO()
    compat.tqdm_default_file(buf)
    try:
        for _ in tqdm.std.tqdm(range(2), desc='bar-here'): pass
        compat.tqdm_default_file(buf)                # a second call replaces, does not stack
        assert not hasattr(tqdm.std.tqdm.__init__.unpatched_, 'unpatched_')
    finally: compat.tqdm_unpatched()
    assert 'bar-here' in buf.getvalue() and not hasattr(tqdm.std.tqdm.__init__, 'unpatched_')

# Modules allowed to touch another library's private names outside compat: none (every module goes through compat).
PENDING = set()

def test_no_module_but_compat_touches_private_names():
    found = private_uses(ROOT/'arith_interp')
    assert set(found) <= PENDING, {m: v for m, v in found.items() if m not in PENDING}

def test_private_name_check_catches_a_planted_use(tmp_path):
    pkg = tmp_path/'pkg'
    pkg.mkdir()
    (pkg/'a.py').write_text('def f(m): return m.interleaver.interleaving\n')
    (pkg/'compat.py').write_text('def g(m): return m._module\n')
    assert sorted(private_uses(pkg)['a']) == ['line 1: reads .interleaver', 'line 1: reads .interleaving']
    assert set(private_uses(pkg)) == {'a'}
