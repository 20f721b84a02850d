"""transfer builds its word-problem prompts with evaluation's prompt builder: the prompts are the very strings the
removed `transfer.math_prompt` built, on every benchmark question the study uses."""
import os, pathlib
import pytest
from arith_interp.evaluation import cot_prompt, worked_shots
from arith_interp.benchmarks import load_benchmark, BENCHMARKS

def old_math_prompt(question, shots=()):
    "transfer.math_prompt before issue 25, verbatim"
    worked = ''.join(f"Question: {s['question']}\nAnswer: {s['answer']}\n\n" for s in shots)
    return worked + f"Question: {question}\nAnswer:"

SHOTS = [dict(question='Tom has 3 apples and buys 2. How many?', answer='5'), dict(question='q2', answer='7')]

@pytest.mark.parametrize('shots', [(), SHOTS[:1], SHOTS])
def test_prompts_identical_on_examples(shots):
    for q in ['1 + 2', 'What is 12 times 3?', 'A\nmultiline question?']:
        assert cot_prompt(q, worked_shots(shots)) == old_math_prompt(q, shots)

DATA = os.environ.get('ARITH_INTERP_DATA', '/work/shared/data')

@pytest.mark.skipif(not pathlib.Path(DATA, 'gsm8k').exists(), reason='benchmark data not available')
def test_prompts_identical_on_every_math_question():
    shots = [dict(question=it['question'], answer=it['answer']) for it in load_benchmark('gsm8k', 'train', DATA, limit=1)]
    for name, bench in BENCHMARKS.items():
        if bench.kind != 'math': continue
        for it in load_benchmark(name, 'test', DATA):
            assert cot_prompt(it['question'], worked_shots(shots)) == old_math_prompt(it['question'], shots), (name, it['id'])
