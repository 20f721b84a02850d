"""Report the modules of arith_interp that break the house style caps (issue 25, STYLE.md rule 3).

Three caps, checked on the generated modules (what a reader of the package sees):
* no `;`-joined statements (found with `tokenize`, so a `;` inside a string or comment is not one);
* no line over 120 characters;
* no function over 40 lines (found with `ast`, from its `def` line to its last line, decorators aside).

One exemption: the first line of the `__all__` that `nbdev_export` writes. nbdev 2.4.14 wraps `__all__` with
`TextWrapper(width=120)` (nbdev/maker.py, `ModuleMaker.make`) but writes `__all__ = ` in front of the first wrapped
line, so that line can reach 130 characters. No settings.ini key changes the width (`black_formatting` runs black on
exported cells, not on the `__all__` the maker writes), so the checker allows that one line up to 130 characters.

Usage: `python tools/style_check.py [module ...]` (default: every module); `--strict` exits 1 if any module offends.
"""
import io, ast, sys, argparse, pathlib, tokenize

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAX_LINE, MAX_FUNCTION = 120, 40
ALL_PREFIX = '__all__ = ['
MAX_ALL_LINE = MAX_LINE + len('__all__ = ')

def semicolons(source:str)->list[str]:
    "`;` tokens that join statements in `source`"
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [f'line {t.start[0]}: ;' for t in tokens if t.type == tokenize.OP and t.string == ';']

def line_cap(line:str)->int:
    "The longest `line` may be: 120, or 130 for the first line of nbdev's generated `__all__`"
    return MAX_ALL_LINE if line.startswith(ALL_PREFIX) else MAX_LINE

def long_lines(source:str)->list[str]:
    "Lines of `source` over their cap"
    lines = enumerate(source.splitlines(), 1)
    return [f'line {i}: {len(l)} characters' for i, l in lines if len(l) > line_cap(l)]

def function_lines(node:ast.AST)->int: return node.end_lineno - node.lineno + 1

def long_functions(source:str)->list[str]:
    "Functions (methods and nested ones included) of `source` longer than 40 lines"
    funcs = [n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return [f'line {n.lineno}: {n.name} has {function_lines(n)} lines' for n in funcs if function_lines(n) > MAX_FUNCTION]

def style_errors(source:str)->list[str]:
    "Every breach of the three caps in `source`, in the order: `;`, long lines, long functions"
    return semicolons(source) + long_lines(source) + long_functions(source)

def modules(names=None)->list[pathlib.Path]:
    "The generated modules named `names` (default: all but `_modidx`, nbdev's index)"
    if names: return [ROOT/'arith_interp'/f'{n}.py' for n in names]
    return sorted(p for p in (ROOT/'arith_interp').glob('*.py') if not p.name.startswith('_'))

def report(paths)->dict[str, list[str]]:
    "Module name -> its style errors, for the modules that have any"
    found = {p.stem: style_errors(p.read_text()) for p in paths}
    return {name: errors for name, errors in found.items() if errors}

def main(argv=None)->int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('modules', nargs='*', help='module names (e.g. reproduce); default: every module')
    p.add_argument('--strict', action='store_true', help='exit 1 if any module breaks a cap')
    a = p.parse_args(argv)
    offenders = report(modules(a.modules))
    for name, errors in offenders.items():
        print(f'{name}: {len(errors)}')
        for e in errors: print(f'  {e}')
    if not offenders: print('no module breaks a cap')
    return 1 if a.strict and offenders else 0

if __name__ == '__main__': sys.exit(main())
