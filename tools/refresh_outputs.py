"""Refresh the stored outputs of experiment notebooks without re-running their slow cells.

`reproduce` stores each experiment notebook (20-39) with its outputs. When only how a cell *shows* its result changes
(pandas display options, a path shown relative to the project), re-running the whole stage on SmolLM2 costs minutes.
This runs the notebook's cells that are not `#| slow` (they read the committed tables in paper/data, as in a full run)
and stores their new outputs; a cell that fails without the slow cells' state, and every slow cell, keeps its stored
output. A slow cell whose last line is `project_relative(save_table(...))` stores what that line gives for the path its
stored output names (`core.project_relative` of the same path, relative to the checkout that wrote it), so no machine
path remains.
Usage: `python tools/refresh_outputs.py nbs/21_locate.ipynb ...` (the committed study's settings; ARITH_INTERP_PAPER=paper).
The next `arith-interp reproduce` of a stage rewrites its notebook from a full run.
"""
import os, re, sys, ast, json, pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
_PATH_REPR = re.compile(r"^(?:Posix)?Path\('(/[^']*)'\)$")

def _text(out:dict)->str: return ''.join(out.get('data', {}).get('text/plain', ''))

def _run_root(path:str)->str:
    "The checkout a committed-study path was written from: the folder holding its paper/ (e.g. /work/main for /work/main/paper/data/x.csv)"
    return path.split('/paper/')[0] if '/paper/' in path else str(ROOT)

def relative_outputs(cell:dict)->list[dict]:
    "The stored outputs of a slow cell, a `Path('/abs')` value rewritten as its new last line shows it"
    from arith_interp.core import project_relative
    if not re.search(r'^project_relative\(', ''.join(cell['source']), re.M): return cell.get('outputs', [])
    outs = []
    for o in cell.get('outputs', []):
        m = _PATH_REPR.match(_text(o).strip())
        if m: o = {**o, 'data': {'text/plain': [repr(project_relative(m[1], _run_root(m[1])))]}}
        outs.append(o)
    return outs

def refresh(path:pathlib.Path)->list[int]:
    "Re-run `path`'s cells that are not slow, store their outputs, keep the rest; the indices of cells that kept theirs"
    from execnb.nbio import read_nb, nb2dict, write_nb
    from execnb.shell import CaptureShell
    from arith_interp.core import wide_tables
    from arith_interp.compat import tqdm_default_file
    from arith_interp.runner import skips_cell, stable_outputs, show_figures_once, clean_like_nbdev
    stored = json.loads(path.read_text())['cells']
    nb = read_nb(path)
    runs = [not skips_cell(c, skip=('slow',)) for c in nb.cells]
    tqdm_default_file()
    shell = CaptureShell(mpl_format='png')
    show_figures_once(shell)
    wide_tables()
    os.chdir(path.parent)
    shell.run_all(nb, exc_stop=False, preproc=lambda c: not runs[c.idx_])
    d, kept = clean_like_nbdev(nb2dict(nb)), []
    for i, (c, old) in enumerate(zip(d['cells'], stored)):
        if c['cell_type'] != 'code': continue
        failed = any(o.get('output_type') == 'error' for o in c.get('outputs', []))
        if runs[i] and not failed: c['outputs'] = stable_outputs(c)
        else:
            c['outputs'] = relative_outputs(old)
            kept.append(i)
    write_nb(clean_like_nbdev(d), path)
    return kept

def main(argv=None)->int:
    paths = [pathlib.Path(p).resolve() for p in (sys.argv[1:] if argv is None else argv)]
    os.environ.setdefault('ARITH_INTERP_PAPER', str(ROOT/'paper'))
    for p in paths: print(f'{p.name}: kept the stored outputs of cells {refresh(p)}')
    return 0

if __name__ == '__main__': sys.exit(main())
