"""Load time of the embedded SmolLM2-135M: first load (GGUF de-quantisation into a fresh cache) vs later loads (cached
float weights), measured side by side in one run. Writes benchmarks/load.json.

    python benchmarks/bench_load.py [--repeats 3] [--out benchmarks/load.json]
"""
import argparse, json, os, statistics, tempfile, time, pathlib, platform
import torch

def timed(fn):
    t0 = time.perf_counter(); fn(); return time.perf_counter() - t0

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--out', default=str(pathlib.Path(__file__).parent/'load.json'))
    a = p.parse_args(argv)
    from arith_interp.core import provenance, save_json
    from arith_interp.models import load_model
    with tempfile.TemporaryDirectory() as d:
        os.environ['ARITH_INTERP_CACHE'] = d                 # a cold cache: the first load de-quantises
        first = timed(lambda: load_model())
        later = [timed(lambda: load_model()) for _ in range(a.repeats)]
    res = {'first_load_s': round(first, 2), 'cached_load_s_median': round(statistics.median(later), 2),
           'cached_load_s_all': [round(t, 2) for t in later], 'speedup': round(first / statistics.median(later), 1),
           'target_cached_load_s': 3.0, 'meets_target': statistics.median(later) < 3.0,
           'machine': {'cpu_threads': torch.get_num_threads(), 'platform': platform.platform()}, **provenance('smollm2-135m')}
    save_json(res, a.out); print(json.dumps(res, indent=2))

if __name__ == '__main__': main()
