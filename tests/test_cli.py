"The command line (issue 14): each bad input a new user hit, fed to `arith-interp`, and what it gets now."
import json, re, time, pathlib
import pandas as pd
import pytest
from arith_interp import cli, outputs
from arith_interp.cli import main, command_parser, flag_message, COMMANDS, remote_arg
from arith_interp.study_commands import committed_folder, default_study_folder
from arith_interp.data import make_pairs, write_jsonl
from arith_interp.models import digit_tokenizer
from arith_interp.reproduce import Stage, run_stage, study, Run, BUDGETS

ROOT = pathlib.Path(__file__).parents[1]

def run_cli(capsys, *argv)->tuple[int, str, str]:
    "Exit code, stdout and stderr of `arith-interp ARGV` (in process)"
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err

@pytest.fixture
def pairs(tmp_path)->pathlib.Path:
    path = tmp_path/'p.jsonl'
    write_jsonl(make_pairs(digit_tokenizer(), ops=('+',), n=6, cf='resample', seed=0), path)
    return path

# --- help, defaults and one --remote parser ---------------------------------------------------------------------

def test_top_level_help_lists_every_command(capsys):
    code, out, _ = run_cli(capsys, '--help')
    assert code == 0 and all(name in out for name in cli.COMMANDS)

@pytest.mark.parametrize('name', list(COMMANDS))
def test_every_subcommand_help_shows_its_defaults(capsys, name):
    parser = command_parser(name)
    optional = [a for a in parser._actions if a.option_strings and not a.required and a.dest != 'help'
                and a.const is None]
    assert all(a.help for a in optional), [a.dest for a in optional if not a.help]
    code, out, _ = run_cli(capsys, name, '--help')
    text = ' '.join(out.split())
    assert code == 0 and text.count('(default:') >= len(optional), (name, text)

@pytest.mark.parametrize('name', list(COMMANDS))
def test_one_remote_parser_everywhere(name):
    remote = [a for a in command_parser(name)._actions if '--remote' in a.option_strings]
    assert len(remote) == 1 and remote[0].type is remote_arg
    assert [remote_arg(s) for s in ('False', 'false', 'FALSE', 'local', 'Local', 'True', 'true')] == \
           [False, False, False, 'local', 'local', True, True]

@pytest.mark.parametrize('command', ['evaluate', 'data'])
def test_readme_remote_true_is_parsed_by_evaluate_and_data(capsys, tmp_path, command):
    "The README's `--remote True` reaches the model check (no 'invalid choice') on the commands that used to reject it"
    code, _, err = run_cli(capsys, command, '--model', 'tiny', '--remote', 'True', '--out', tmp_path)
    assert code == 2 and 'invalid choice' not in err and 'exists only on this machine' in err, err

# --- issue 25: the parsers come from the command functions' signatures and docments ---------------------------

FLAGS = {   # every flag of every command, in --help order, as they were when cli.py wrote argparse by hand
    'info': '--model --device --remote --trusted',
    'data': '--ops --styles --variant --n --k-shot --counterfactual --filter --model --device --remote --data --seed '
            '--out --overwrite',
    'evaluate': '--suite --limit --k-shot --max-new-tokens --batch-size --adapter --model --device --remote --data '
                '--seed --out --overwrite',
    'locate': '--pairs --n --method --metric --unit --layers --neurons --top-k --counterfactual --model --device '
              '--remote --seed --out --overwrite',
    'knockout': '--pairs --n --components --top-k --from --kinds --op --ablation --random-draws --model --device '
                '--remote --seed --out --overwrite',
    'transfer': '--components --sets --limit --n-random --max-new-tokens --model --device --remote --data --seed '
                '--out --overwrite',
    'sft': '--components --top-k --mlps --op --method --kv --rescale --steps --batch --effective-batch --grad-accum '
           '--warmup --schedule --dtype --seq --lr --lora-r --n-gsm8k --n-arith --ckpt-every --resume --model '
           '--device --remote --data --seed --out --overwrite',
    'sft-study': '--budget --ranking --path-ranking --act-ranking --op --model --device --remote --data --seed --out '
                 '--dry-run --publish --unit --neuron-ranking',
    'circuit': '--pairs --n --method --receivers --metric --ig --steps --batch-size --rows --model --device --remote '
               '--seed --out --overwrite',
    'reproduce': '--quick --full --trusted --force --only --plan --ignore-plan --model --device --remote --data --seed '
                 '--out --overwrite',
}

@pytest.mark.parametrize('name', list(COMMANDS))
def test_flag_spellings_are_kept(name):
    actions = command_parser(name)._actions
    assert ' '.join(o for a in actions for o in a.option_strings if o not in ('-h', '--help')) == FLAGS[name]

@pytest.mark.parametrize('name', list(COMMANDS))
def test_each_flag_is_a_parameter_of_its_function(name):
    "The parser is the function's signature: every flag's destination is a parameter, with the same default"
    import inspect
    parameters = inspect.signature(COMMANDS[name][0]).parameters
    for action in command_parser(name)._actions[1:]:
        assert action.dest in parameters, (name, action.dest)
        default = parameters[action.dest].default
        if action.dest != 'remote' and default is not inspect.Parameter.empty:
            assert action.default == (list(default) if isinstance(default, tuple) else default), (name, action.dest)

def test_library_errors_name_parameters_and_the_cli_flags(capsys):
    "`models.check_model_source` names `remote`; the command line prints the flag in its place"
    from arith_interp.models import check_model_source
    with pytest.raises(ValueError, match='`remote=True` runs on NDIF'): check_model_source('tiny', remote=True)
    code, _, err = run_cli(capsys, 'info', '--model', 'not-a-model')
    assert code == 2 and "--model 'not-a-model' is not an embedded model" in err, err
    code, _, err = run_cli(capsys, 'reproduce', '--model', 'tiny', '--remote', 'True', '--quick')
    assert code == 2 and '--remote true runs on NDIF' in err and "use --remote false or 'local'" in err, err

def test_flag_message_maps_only_the_commands_parameters():
    assert flag_message("pass `overwrite=True`, or `resume`; top_k=3 of ranking='s.csv'", 'knockout') == \
        "pass --overwrite, or `resume`; --top-k 3 of --from 's.csv'"

def test_knockout_needs_one_selection(capsys, pairs):
    code, _, err = run_cli(capsys, 'knockout', '--model', 'tiny', '--pairs', pairs)
    assert code == 2 and 'give exactly one of --components or --top-k' in err, err
    code, _, err = run_cli(capsys, 'knockout', '--model', 'tiny', '--pairs', pairs, '--top-k', '2')
    assert code == 2 and '--top-k needs --from' in err, err

def test_argparse_only_in_the_cli_module():
    imports_argparse = re.compile(r'^\s*import .*argparse|^\s*from argparse', re.M)
    users = sorted(p.name for p in (ROOT/'arith_interp').glob('*.py') if imports_argparse.search(p.read_text()))
    assert users == ['cli.py'], users

# --- (1) the committed study is never overwritten by another budget; --only keeps the stage-time record --------

def test_quick_default_folder_is_not_the_committed_one():
    assert default_study_folder('smollm2-135m', 'quick', 0).resolve() == ROOT/'runs'/'quick'
    assert default_study_folder('smollm2-135m', 'default', 0).resolve() == committed_folder().resolve()
    assert 'runs/' in (ROOT/'.gitignore').read_text()

def test_quick_into_paper_refuses_before_any_stage(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    before = {p: p.stat().st_mtime_ns for p in (ROOT/'paper').rglob('*') if p.is_file()}
    code, _, err = run_cli(capsys, 'reproduce', '--quick', '--out', 'paper')
    assert code == 2 and '--overwrite' in err and 'committed study' in err
    assert before == {p: p.stat().st_mtime_ns for p in (ROOT/'paper').rglob('*') if p.is_file()}

def test_only_merges_into_the_stage_time_record(capsys, tmp_path):
    out = tmp_path/'study'; out.mkdir()
    old = pd.DataFrame(dict(stage=['data', 'locate', 'total'], status=['ran', 'ran', ''], seconds=[10.0, 20.0, 30.0],
                            files=[4, 14, 18]))
    old.to_csv(out/'stage_times.csv', index=False)
    (tmp_path/'data').mkdir()
    code, _, err = run_cli(capsys, 'reproduce', '--model', 'tiny', '--quick', '--out', out, '--data', tmp_path/'data',
                           '--only', 'benchmarks')
    assert code == 0, err
    times = pd.read_csv(out/'stage_times.csv', keep_default_na=False)
    assert times.stage.tolist() == ['data', 'locate', 'benchmarks', 'total']
    seconds = times.set_index('stage').seconds
    assert seconds['total'] == pytest.approx(30.0 + seconds['benchmarks'])

# --- (3) outputs are checked before any work ---------------------------------------------------------------------

@pytest.mark.parametrize('command,args,out_name', [
    ('data', ['--n', '4'], 'p.jsonl'),
    ('evaluate', ['--limit', '2'], 'r.json'),
    ('locate', ['--pairs', '{pairs}'], 's.csv'),
    ('knockout', ['--pairs', '{pairs}', '--components', 'a0.h1'], 'k.json'),
    ('transfer', ['--components', 'a0.h1', '--sets', 'single'], 't.csv'),
])
def test_existing_output_needs_overwrite(capsys, tmp_path, pairs, command, args, out_name):
    out = tmp_path/out_name
    out.write_text('precious')
    argv = [a.format(pairs=pairs) for a in args]
    started = time.perf_counter()
    code, _, err = run_cli(capsys, command, '--model', 'tiny', *argv, '--out', out)
    assert code == 2 and '--overwrite' in err and str(out) in err, err
    assert out.read_text() == 'precious' and time.perf_counter() - started < 5
    code, _, err = run_cli(capsys, command, '--model', 'tiny', *argv, '--out', out, '--overwrite')
    assert code == 0, err

def test_sft_out_existing_file_fails_before_training(capsys, tmp_path):
    (tmp_path/'ad').write_text('x')
    code, _, err = run_cli(capsys, 'sft', '--model', 'tiny', '--components', 'a0.h1', '--n-gsm8k', '0',
                           '--out', tmp_path/'ad')
    assert code == 2 and 'is a file' in err

def test_sft_refuses_to_train_over_a_result(capsys, tmp_path):
    argv = ['sft', '--model', 'tiny', '--components', 'a0.h1', '--steps', '2', '--batch', '4', '--seq', '16',
            '--n-gsm8k', '0', '--n-arith', '8', '--ckpt-every', '1', '--out', tmp_path/'ad']
    assert run_cli(capsys, *argv)[0] == 0
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and '--resume' in err and '--overwrite' in err
    assert run_cli(capsys, *argv, '--overwrite')[0] == 0

# --- (4) numbers are checked up front, the message names the flag ------------------------------------------------

@pytest.mark.parametrize('command,flag,value', [
    ('sft', '--steps', '0'), ('sft', '--batch', '0'), ('sft', '--lr', '0'), ('sft', '--lr', 'nan'),
    ('sft', '--seq', '-1'), ('evaluate', '--limit', '0'), ('evaluate', '--batch-size', '0'), ('locate', '--n', '0'),
    ('knockout', '--top-k', '0'), ('knockout', '--random-draws', '0'), ('data', '--n', '0'),
    ('transfer', '--limit', '0'), ('reproduce', '--seed', '-1'),
])
def test_bad_numbers_name_the_flag(capsys, command, flag, value):
    code, _, err = run_cli(capsys, command, '--model', 'tiny', flag, value)
    assert code == 2 and f'argument {flag}' in err and 'expected' in err, err

def test_sft_with_no_training_examples(capsys):
    code, _, err = run_cli(capsys, 'sft', '--model', 'tiny', '--n-gsm8k', '0', '--n-arith', '0')
    assert code == 2 and 'nothing to train on' in err

# --- (5) --force recomputes, reused per-run caches included ------------------------------------------------------

def test_force_clears_the_stages_cache(tmp_path, monkeypatch):
    monkeypatch.setenv('ARITH_INTERP_CACHE', str(tmp_path/'cache'))
    calls = []
    def fn(run):
        seen = (tmp_path/'cache'/'demo_runs'/'r.csv').exists()
        calls.append(seen)
        (tmp_path/'cache'/'demo_runs').mkdir(parents=True, exist_ok=True)
        (tmp_path/'cache'/'demo_runs'/'r.csv').write_text('run result')
        return []
    stage, run = Stage('demo', fn, caches=('demo_runs',)), Run('tiny', tmp_path/'out', BUDGETS['quick'])
    assert run_stage(run, stage)['status'] == 'ran'
    assert run_stage(run, stage)['status'] == 'cached'
    assert run_stage(run, stage, force=True)['status'] == 'ran'
    assert calls == [False, False]          # the forced run did not find the earlier run's cached result

def test_force_sft_clears_only_this_runs_cache(tmp_path, monkeypatch):
    "`--force sft` empties the run's own `sft_runs/<key>` folder; another budget's cached runs stay (issue 24)"
    from arith_interp.core import cache_dir
    from arith_interp.reproduce import forced_cache
    monkeypatch.setenv('ARITH_INTERP_CACHE', str(tmp_path/'cache'))
    for key in ('this', 'other'): (cache_dir('sft_runs')/key).mkdir(parents=True); (cache_dir('sft_runs')/key/'r.csv').write_text('x')
    seen = []
    def fn(run):
        folder = forced_cache(cache_dir('sft_runs')/'this', 'sft')
        seen.append((folder/'r.csv').exists())
        return []
    run = Run('tiny', tmp_path/'out', BUDGETS['quick'])
    sft = study()[[s.name for s in study()].index('sft')]
    assert run_stage(run, Stage('sft', fn, caches=sft.caches), force=True)['status'] == 'ran'
    assert seen == [False] and (cache_dir('sft_runs')/'other'/'r.csv').exists()
    assert "forced_cache(cache_dir('sft_runs')/key, 'sft')" in (ROOT/'nbs'/'24_sft.ipynb').read_text().replace('\\', '')

# --- (8) --remote true with a local model is rejected before anything runs ---------------------------------------

@pytest.mark.parametrize('model', ['smollm2-135m', 'tiny', '.'])
def test_reproduce_remote_true_with_a_local_model(capsys, tmp_path, model):
    code, _, err = run_cli(capsys, 'reproduce', '--model', model, '--remote', 'True', '--quick', '--out', tmp_path/'s')
    assert code == 2 and 'NDIF' in err and 'Traceback' not in err
    assert not (tmp_path/'s').exists()

def test_info_remote_true_prints_the_plan_not_an_error(capsys):
    "`info --remote true` answers from the config alone (ndif.remote_plan), even for a local model"
    code, out, _ = run_cli(capsys, 'info', '--model', 'tiny', '--remote', 'true')
    plan = json.loads(out)
    assert code == 0 and plan['supported'] and plan['hosted'] is None

# --- (10) one --out convention: the suffix names the format, strict JSON, nothing in the repository root ----------

def test_knockout_csv_is_csv(capsys, tmp_path, pairs):
    code, _, err = run_cli(capsys, 'knockout', '--model', 'tiny', '--pairs', pairs, '--components', 'a0.h1,m1',
                           '--random-draws', '2', '--out', tmp_path/'ko.csv')
    assert code == 0, err
    table = pd.read_csv(tmp_path/'ko.csv')
    assert table.condition.tolist() == ['top', 'random', 'random']
    assert json.loads((tmp_path/'ko.meta.json').read_text())['model'] == 'tiny'

def test_transfer_json_is_strict(capsys, tmp_path):
    code, _, err = run_cli(capsys, 'transfer', '--model', 'tiny', '--components', 'a0.h1', '--sets', 'single',
                           '--limit', '4', '--n-random', '1', '--out', tmp_path/'t.json')
    assert code == 0, err
    def no_nan(text): raise AssertionError(f'{text} in JSON')
    result = json.loads((tmp_path/'t.json').read_text(), parse_constant=no_nan)
    assert result['drops'][0]['random_rel_drop_sd'] is None      # one random draw: no spread, written as null
    assert sorted(p.name for p in tmp_path.iterdir()) == ['t.json']

def test_evaluate_default_out_is_not_the_working_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, 'evaluate', '--model', 'tiny', '--limit', '2')
    assert code == 0, err
    assert not (tmp_path/'results.json').exists() and (tmp_path/'runs'/'evaluate'/'evaluate.json').exists()

def test_unknown_out_suffix(capsys, tmp_path, pairs):
    code, _, err = run_cli(capsys, 'knockout', '--model', 'tiny', '--pairs', pairs, '--components', 'a0.h1',
                           '--out', tmp_path/'ko.txt')
    assert code == 2 and 'ending in .json or .csv' in err

# --- (12) one rule for the data folder -------------------------------------------------------------------------

def test_no_data_folder_names_the_flag(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv('ARITH_INTERP_DATA', raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(outputs, 'proj_root', lambda start=None: tmp_path)   # a project with no shared/data beside it
    code, _, err = run_cli(capsys, 'evaluate', '--model', 'tiny', '--suite', 'math', '--out', tmp_path/'r.json')
    assert code == 2 and '--data' in err and 'data_dir' not in err

def test_data_folder_beside_the_project(tmp_path, monkeypatch):
    (tmp_path/'project').mkdir()
    (tmp_path/'project'/'settings.ini').write_text('[DEFAULT]\n')
    (tmp_path/'shared'/'data').mkdir(parents=True)
    monkeypatch.delenv('ARITH_INTERP_DATA', raising=False)
    monkeypatch.chdir(tmp_path/'project')
    assert outputs.data_folder() == tmp_path/'shared'/'data'
    monkeypatch.setenv('ARITH_INTERP_DATA', str(tmp_path))
    assert outputs.data_folder() == tmp_path
    assert outputs.data_folder(str(tmp_path/'shared')) == tmp_path/'shared'

def test_missing_data_flag_folder(capsys, tmp_path):
    code, _, err = run_cli(capsys, 'sft', '--model', 'tiny', '--data', tmp_path/'nope', '--out', tmp_path/'ad')
    assert code == 2 and '--data' in err and 'is not a folder' in err

# --- (14) a model name that cannot be one fails at once, offline ------------------------------------------------

def test_not_a_model_fails_at_once(capsys):
    started = time.perf_counter()
    code, _, err = run_cli(capsys, 'info', '--model', 'not-a-model')
    assert code == 2 and "Hub id 'org/name'" in err and time.perf_counter() - started < 5

def test_offline_hub_id_fails_at_once(capsys, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    started = time.perf_counter()
    code, _, err = run_cli(capsys, 'locate', '--model', 'some-org/not-cached', '--pairs', ROOT/'settings.ini')
    assert code == 2 and 'HF_HUB_OFFLINE' in err and time.perf_counter() - started < 5

# --- (7) an empty pairs file is named ------------------------------------------------------------------------

def test_empty_pairs_file_is_named(capsys, tmp_path):
    (tmp_path/'empty.jsonl').write_text('')
    code, _, err = run_cli(capsys, 'locate', '--model', 'tiny', '--pairs', tmp_path/'empty.jsonl', '--out', tmp_path/'s.csv')
    assert code == 2 and 'empty.jsonl' in err, err

# --- issue 24: messages name the real cause ----------------------------------------------------------------------

@pytest.fixture
def knockout_csv(capsys, tmp_path, pairs)->pathlib.Path:
    "A knockout result written as CSV: a table, but not a ranking"
    code, _, err = run_cli(capsys, 'knockout', '--model', 'tiny', '--pairs', pairs, '--components', 'a0.h1',
                           '--random-draws', '1', '--out', tmp_path/'ko.csv')
    assert code == 0, err
    return tmp_path/'ko.csv'

def test_sft_components_not_a_ranking(capsys, tmp_path, knockout_csv):
    code, _, err = run_cli(capsys, 'sft', '--model', 'tiny', '--components', knockout_csv, '--top-k', '3',
                           '--n-gsm8k', '0', '--n-arith', '8', '--out', tmp_path/'run')
    assert code == 2 and 'is not a ranking: missing column(s)' in err and 'Traceback' not in err, err

def test_knockout_from_not_a_ranking(capsys, tmp_path, pairs, knockout_csv):
    code, _, err = run_cli(capsys, 'knockout', '--model', 'tiny', '--pairs', pairs, '--from', knockout_csv, '--top-k', '2',
                           '--out', tmp_path/'k2.csv')
    assert code == 2 and 'is not a ranking: missing column(s)' in err, err

def test_logit_diff_without_corrupt_answer_names_the_field(capsys, tmp_path, pairs):
    "It was a NaN blamed on the weight cache (which the tiny model does not have)"
    recs = [{k: v for k, v in json.loads(l).items() if k != 'corrupt_answer'} for l in pairs.read_text().splitlines()]
    write_jsonl(recs, tmp_path/'no_cf.jsonl')
    code, _, err = run_cli(capsys, 'locate', '--model', 'tiny', '--pairs', tmp_path/'no_cf.jsonl', '--metric', 'logit_diff',
                           '--out', tmp_path/'s.csv')
    assert code == 2 and "missing field(s) ['corrupt_answer']" in err and 'weight cache' not in err, err
    assert not (tmp_path/'s.csv').exists()

def test_clean_equal_corrupt_warns(capsys, tmp_path, pairs):
    recs = [json.loads(l) for l in pairs.read_text().splitlines()]
    write_jsonl([{**r, 'corrupt': r['clean'], 'corrupt_answer': r['answer']} for r in recs], tmp_path/'same.jsonl')
    code, out, err = run_cli(capsys, 'locate', '--model', 'tiny', '--pairs', tmp_path/'same.jsonl', '--out', tmp_path/'s.csv')
    assert code == 0 and f'{len(recs)} of {len(recs)} pairs' in err and 'changes nothing' in err, err
    assert 'top 5: none (every score is 0)' in out, out

def test_non_utf8_pairs_file_is_named(capsys, tmp_path, pairs):
    (tmp_path/'u16.jsonl').write_bytes(pairs.read_text().encode('utf-16'))
    code, _, err = run_cli(capsys, 'locate', '--model', 'tiny', '--pairs', tmp_path/'u16.jsonl', '--out', tmp_path/'s.csv')
    assert code == 2 and 'u16.jsonl: not UTF-8 text' in err, err

def test_data_with_a_folder_without_tokenizer(capsys, tmp_path):
    from arith_interp.models import tiny_config
    tiny_config().save_pretrained(tmp_path/'m')               # a config, no tokenizer files
    code, _, err = run_cli(capsys, 'data', '--model', tmp_path/'m', '--n', '4', '--out', tmp_path/'p.jsonl')
    assert code == 2 and 'has no usable tokenizer' in err and 'Copy the tokenizer files' in err, err

def test_org_name_shaped_missing_path_fails_fast(capsys, tmp_path, monkeypatch):
    "`models/my-finetune` with a local models/ folder is a path, not a Hub id: no Hub retries"
    (tmp_path/'models').mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, 'info', '--model', 'models/my-finetune')
    assert code == 2 and "the folder 'models' does" in err, err

def test_unreachable_hub_fails_fast(capsys, monkeypatch):
    from arith_interp import models
    monkeypatch.setattr(models, 'hub_reachable', lambda timeout=3.0: False)
    code, _, err = run_cli(capsys, 'info', '--model', 'some-org/not-cached-model')
    assert code == 2 and 'cannot be reached' in err, err

def test_two_commands_on_one_out(capsys, tmp_path, pairs):
    "A second command writing the same --out while the first runs refuses at once, naming the first's pid"
    import subprocess, sys
    holder = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        (tmp_path/'s.csv.lock').write_text(str(holder.pid))
        code, _, err = run_cli(capsys, 'locate', '--model', 'tiny', '--pairs', pairs, '--out', tmp_path/'s.csv')
        assert code == 2 and f'another arith-interp command (pid {holder.pid}' in err, err
    finally:
        holder.kill()
        holder.wait()
    code, _, err = run_cli(capsys, 'locate', '--model', 'tiny', '--pairs', pairs, '--out', tmp_path/'s.csv')
    assert code == 0 and not (tmp_path/'s.csv.lock').exists(), err     # a dead command's lock is taken over, and released

def test_reproduce_from_another_folder_protects_paper(capsys, tmp_path, monkeypatch):
    "Run from outside the checkout, reproduce still finds nbs/ and still refuses to overwrite the committed paper/"
    from arith_interp.runner import nbs_dir
    monkeypatch.chdir(tmp_path)
    assert committed_folder() == ROOT/'paper' and nbs_dir() == ROOT/'nbs'
    code, _, err = run_cli(capsys, 'reproduce', '--model', 'tiny', '--quick', '--out', ROOT/'paper')
    assert code == 2 and '--overwrite' in err and 'committed study' in err, err

def test_sft_and_reproduce_lock_their_out(capsys, tmp_path):
    import subprocess, sys
    holder = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        for name in ('ad', 'study'): (tmp_path/f'{name}.lock').write_text(str(holder.pid))
        code, _, err = run_cli(capsys, 'sft', '--model', 'tiny', '--n-gsm8k', '0', '--n-arith', '8', '--out', tmp_path/'ad')
        assert code == 2 and f'pid {holder.pid}' in err, err
        code, _, err = run_cli(capsys, 'reproduce', '--model', 'tiny', '--quick', '--out', tmp_path/'study', '--only', 'report')
        assert code == 2 and f'pid {holder.pid}' in err, err
    finally:
        holder.kill()
        holder.wait()
