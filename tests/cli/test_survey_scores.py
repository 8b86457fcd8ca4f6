"""``cvm survey fuzzy`` and ``cvm survey servqual`` on hand-checked examples."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm.cli import app

# 4 factors x 4 grades, 10 answers per factor, weights A = (0.4, 0.3, 0.2, 0.1):
#        excellent good fair poor       R row
#   f1       5      3    2    0    ->  .5 .3 .2  0
#   f2       2      4    3    1    ->  .2 .4 .3 .1
#   f3       1      2    4    3    ->  .1 .2 .4 .3
#   f4       0      1    3    6    ->   0 .1 .3 .6
# M(.,+): b = A R = (.28, .29, .28, .15), grade good, score .28*95+.29*80+.28*65+.15*40 = 74
# M(^,v): b_j = max_i min(a_i, r_ij) = (.4, .3, .3, .2) / 1.2, grade excellent,
#         score (38 + 24 + 19.5 + 8) / 1.2 = 74.5833
# M(.,v): b_j = max_i a_i r_ij = (.2, .12, .09, .06) / .47, grade excellent,
#         score (19 + 9.6 + 5.85 + 2.4) / .47 = 78.4043
# M(^,+): b_j = min(1, sum_i min(a_i, r_ij)) = (.7, .9, .8, .4) / 2.8, grade good,
#         score (66.5 + 72 + 52 + 16) / 2.8 = 73.75
COUNTS = """
factor,weight,excellent,good,fair,poor
f1,0.4,5,3,2,0
f2,0.3,2,4,3,1
f3,0.2,1,2,4,3
f4,0.1,0,1,3,6
"""
EXPECTED = {"M(.,+)": ([.28, .29, .28, .15], "good", 74.0),
            "M(^,v)": ([.4 / 1.2, .3 / 1.2, .3 / 1.2, .2 / 1.2], "excellent", 74.583333),
            "M(.,v)": ([.2 / .47, .12 / .47, .09 / .47, .06 / .47], "excellent", 78.404255),
            "M(^,+)": ([.7 / 2.8, .9 / 2.8, .8 / 2.8, .4 / 2.8], "good", 73.75)}


def run(*args):
    return CliRunner().invoke(app, ["survey", *map(str, args)])


def test_fuzzy_all_four_operators_json(tmp_path):
    counts = write_csv(tmp_path / "counts.csv", COUNTS)
    res = run("fuzzy", counts, "--grade-scores", "95,80,65,40", "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["membership"]["f4"] == {"excellent": 0.0, "good": 0.1, "fair": 0.3, "poor": 0.6}
    got = {r["operator"]: r for r in doc["results"]}
    assert set(got) == set(EXPECTED)
    for op, (b, grade, score) in EXPECTED.items():
        assert list(got[op]["b_normalised"].values()) == pytest.approx(b), op
        assert got[op]["grade"] == grade
        assert got[op]["score"] == pytest.approx(score, abs=1e-6)


def test_fuzzy_weights_file_and_one_operator_csv(tmp_path):
    counts = write_csv(tmp_path / "counts.csv", COUNTS.replace(",weight", "").replace(
        ",0.4,", ",").replace(",0.3,", ",").replace(",0.2,", ",").replace(",0.1,", ","))
    # weights 4:3:2:1 as AHP would write them (normalised to .4 .3 .2 .1)
    weights = write_csv(tmp_path / "w.csv", "criterion,weight\nf1,4\nf2,3\nf3,2\nf4,1\n")
    res = run("fuzzy", counts, "--weights", weights, "--operator", "M(·,⊕)",
              "--grade-scores", "95,80,65,40", "--format", "csv")
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0] == '"operator","excellent","good","fair","poor","grade","score"'
    assert len(lines) == 2 and '"M(.,+)"' in lines[1] and '"good"' in lines[1]


def test_fuzzy_errors(tmp_path):
    counts = write_csv(tmp_path / "c.csv", "factor,excellent,good\nf1,1,2\n")
    res = run("fuzzy", counts)
    assert res.exit_code == 2 and "no 'weight' column" in res.output
    res = run("fuzzy", write_csv(tmp_path / "d.csv", COUNTS), "--grade-scores", "1,2")
    assert res.exit_code == 2 and "2 grade scores for 4 grades" in res.output


# Three respondents, expectation (E) and perception (P) of four items:
#            t1      r1      r2      e1
#   resp1   6 5     7 5     7 6     5 5
#   resp2   5 5     6 6     7 5     6 4
#   resp3   7 4     7 4     6 6     4 5
# gaps P - E: t1 (-1, 0, -3) -> -4/3; r1 (-2, 0, -3) -> -5/3; r2 (-1, -2, 0) -> -1;
# e1 (0, -2, 1) -> -1/3. Dimensions: tangibles -4/3, reliability (-5/3 - 1)/2 = -4/3,
# empathy -1/3; unweighted score -1; weights 20/50/30 -> .2(-4/3) + .5(-4/3) + .3(-1/3)
# = -1.03333
SQ_DATA = """
E_t1,P_t1,E_r1,P_r1,E_r2,P_r2,E_e1,P_e1
6,5,7,5,7,6,5,5
5,5,6,6,7,5,6,4
7,4,7,4,6,6,4,5
"""
SQ_ITEMS = """
item,dimension,expected,perceived
t1,tangibles,E_t1,P_t1
r1,reliability,E_r1,P_r1
r2,reliability,E_r2,P_r2
e1,empathy,E_e1,P_e1
"""


def test_servqual_gaps_json(tmp_path):
    data = write_csv(tmp_path / "sq.csv", SQ_DATA)
    items = write_csv(tmp_path / "items.csv", SQ_ITEMS)
    res = run("servqual", data, "--items", items, "--importance", "tangibles=20",
              "--importance", "reliability=50", "--importance", "empathy=30", "-f", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    gaps = {r["item"]: r["gap"] for r in doc["items"]}
    assert gaps == pytest.approx({"t1": -4 / 3, "r1": -5 / 3, "r2": -1.0, "e1": -1 / 3})
    dims = {r["dimension"]: r for r in doc["dimensions"]}
    assert dims["reliability"]["gap"] == pytest.approx(-4 / 3)
    assert dims["reliability"]["perceived"] == pytest.approx(16 / 3)  # (5 + 5.6667) / 2
    assert dims["empathy"]["weight"] == pytest.approx(0.3)
    assert doc["score"] == pytest.approx(-1.0)
    assert doc["weighted_score"] == pytest.approx(-1.033333, abs=1e-6)


def test_servqual_table_and_errors(tmp_path):
    data = write_csv(tmp_path / "sq.csv", SQ_DATA)
    items = write_csv(tmp_path / "items.csv", SQ_ITEMS)
    res = run("servqual", data, "--items", items)
    assert res.exit_code == 0 and "SERVQUAL score -1.0000 (unweighted)" in res.output
    res = run("servqual", data, "--items", items, "--importance", "tangibles=20")
    assert res.exit_code == 2 and "no weight for ['reliability', 'empathy']" in res.output
    res = run("servqual", data, "--items", items, "--importance", "tangibles")
    assert res.exit_code == 2 and "expected NAME=NUMBER" in res.output
    bad = write_csv(tmp_path / "bad.csv", SQ_ITEMS.replace("E_e1", "E_x"))
    res = run("servqual", data, "--items", bad)
    assert res.exit_code == 2 and "['E_x']" in res.output
