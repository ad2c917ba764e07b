# hintfleet sympy fallback: compares two answers that hintfleet's own
# translator (curate.ToSympy) wrote in sympy syntax. Installed once into a
# sandbox session; each comparison is one call of _hf_sympy_compare.
import json as _hf_json

import sympy as _hf_sp
from sympy.parsing.sympy_parser import (
    convert_xor as _hf_xor,
    implicit_multiplication_application as _hf_implicit,
    parse_expr as _hf_parse_expr,
    standard_transformations as _hf_standard,
)

_hf_T = _hf_standard + (_hf_implicit, _hf_xor)
_hf_NS = {k: getattr(_hf_sp, k) for k in dir(_hf_sp) if not k.startswith("_")}
_hf_NS["parse"] = lambda s: _hf_parse_expr(s, transformations=_hf_T)
_hf_NS["__builtins__"] = {}


def _hf_num_eq(a, b):
    try:
        d = _hf_sp.simplify(a - b)
        if d == 0:
            return True
        if d.free_symbols or d.is_Rational:
            return False  # a non-zero exact difference: 2**10000 + 1 is not 2**10000
        scale = max(1.0, abs(complex(_hf_sp.N(a, 30))))
        return abs(complex(_hf_sp.N(d, 30))) <= 1e-9 * scale
    except Exception:
        return False


def _hf_as_set(x):
    if isinstance(x, _hf_sp.Set):
        return x
    return x.as_set()


def _hf_same(a, b):
    sp = _hf_sp
    seq = (sp.Tuple, list, tuple)
    if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
        return (isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase) and a.shape == b.shape
                and all(_hf_same(x, y) for x, y in zip(a, b)))
    if isinstance(a, seq) or isinstance(b, seq):
        return (isinstance(a, seq) and isinstance(b, seq) and len(a) == len(b)
                and all(_hf_same(x, y) for x, y in zip(a, b)))
    if isinstance(a, sp.FiniteSet) and isinstance(b, sp.FiniteSet):
        left = list(b.args)
        if len(a.args) != len(left):
            return False
        for x in a.args:
            for i, y in enumerate(left):
                if _hf_same(x, y):
                    left.pop(i)
                    break
            else:
                return False
        return True
    if isinstance(a, sp.Equality) and isinstance(b, sp.Equality):
        x, y = a.lhs - a.rhs, b.lhs - b.rhs
        if sp.simplify(y) == 0:
            return sp.simplify(x) == 0
        q = sp.simplify(x / y)
        return q.is_number and q != 0
    logic = (sp.Set, sp.Rel, sp.And, sp.Or)
    if isinstance(a, logic) or isinstance(b, logic):
        try:
            sa, sb = _hf_as_set(a), _hf_as_set(b)
            return sa == sb or sa.symmetric_difference(sb) == sp.S.EmptySet
        except Exception:
            return False
    return _hf_num_eq(a, b)


def _hf_sympy_compare(args):
    a, b = _hf_json.loads(args)
    a, b = eval(a, _hf_NS), eval(b, _hf_NS)
    print("EQUAL" if _hf_same(a, b) else "DIFFERENT")
