"""check-gaml: the GAML parser (GAMA's grammar on Lark), the name checker (GAMA's catalogue), the
contract with the Python side, the CLI, a mutation test over the shipped GAML and GAMA's own library."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sb3_forager.cli.check_gaml import main as check_gaml_main
from sb3_forager.lang.checker import check_file, check_text, load_catalogue
from sb3_forager.lang.contract import check_shipped, shipped_files
from sb3_forager.lang.parser import GamlSyntaxError, parse

sys.path.insert(0, str(Path(__file__).parent))
from gaml_mutants import mutants  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
GAML = REPO / "gaml"
#: a bare mirror of gama-platform/gama (the library test is skipped without it)
GAMA_MIRROR = Path(os.environ.get("GAMA_MIRROR", "/work/.mirror/gama-platform+gama/repo"))


@pytest.fixture(scope="module")
def cat():
    return load_catalogue()


def messages(text: str, cat) -> list[str]:
    return [p.message for p in check_text(text, cat)]


def model(body: str, experiment: str = "") -> str:
    return f"model m\n\nglobal {{\n{body}\n}}\n{experiment}\n"


# ------------------------------------------------------------------------------------------ shipped files
def test_shipped_files_and_contract_pass(cat):
    """CI's check of every shipped GAML file, and of the contract of every model of the model table."""
    files = shipped_files()
    assert {f.name for f in files} >= {"forager_gym.gaml", "forager_petz.gaml", "forager_petz_stress.gaml",
                                       "forager_onnx.gaml"}
    for f in files:
        assert check_file(f, cat) == [], f
    assert [p.format() for p in check_shipped(catalogue=cat)] == []


def test_catalogue_names_the_gama_commit(cat):
    assert len(cat.gama_commit) == 40
    header = (REPO / "sb3_forager/lang/gaml.lark").read_text()
    assert "0c58c077370f67bbbb9af36ba57ea40322e4c1cf" in header and "LALR" in header


# ------------------------------------------------------------------------------------------ parser
def test_parser_reads_what_xtext_predicates_decide():
    tree = parse(model(
        "list<point> starts <- [{5.0, 5.0}];\n"          # a parametric type declaration, a point literal
        "map<string, unknown> m <- map<string, unknown>([]);\n"
        "bool lt <- 1 < 2;\n"                             # a comparison, not a type
        "int c <- true ? 1:2;\n"                          # `1:2` inside ? : is not a facet
        "string f(int a, float b <- 1.0) { return string(a); }\n"  # a typed action
        "init { starts << {1, 2}; starts >> {1, 2}; self.starts <- []; }"
    ))
    kinds = [t.data for t in tree.iter_subtrees_topdown()]
    assert kinds.count("typeinfo") >= 3 and "comparison" in kinds and "conditional" in kinds
    assert "method_" in kinds and kinds.count("assignment") == 3 and kinds.count("point_lit") == 3
    ops = [str(t.children[2]) for t in tree.iter_subtrees() if t.data == "assignment"]
    assert sorted(ops) == ["<-", "<<", ">>"]


@pytest.mark.parametrize("text, line, col, what", [
    ("model m\nglobal {\n\tint x <- 3\n}\n", 4, 1, "'}'"),                 # a missing ;
    ("model m\nglobal {\n\tinit { x <- 1; }\n", 4, 1, "end of the file"),  # a missing }
    ("model m\nglobal { int x <- (1 + ; }\n", 2, 24, "';'"),
])
def test_syntax_errors_give_the_position(text, line, col, what):
    with pytest.raises(GamlSyntaxError) as err:
        parse(text)
    assert (err.value.line, err.value.column) == (line, col)
    assert what in err.value.message


# ------------------------------------------------------------------------------------------ checker
@pytest.mark.parametrize("body, expected", [
    ("init { craete x; }", "unknown statement or type 'craete'"),
    ("reflex r whne: true { }", "facet 'whne' is not allowed in 'reflex'"),
    ("float d <- {0, 0} distnce_to {1, 1};", "unknown operator 'distnce_to'"),
    ("float d <- sqrt(1, 2, 3);", "operator 'sqrt' takes 1 operand(s), not 3"),
    ("float d <- rnd(1, 2, 3, 4);", "operator 'rnd' takes"),
    ("flaot d <- 1.0;", "unknown statement or type 'flaot'"),
    ("list<flaot> d;", "unknown type 'flaot'"),
    ("rgb c <- #bleu;", "unknown constant or unit '#bleu'"),
    ("float x <- 1.0; float y <- z + 1;", "unknown name 'z'"),
    ("init { ask world { do nothing_here; } }", "unknown action 'nothing_here'"),
    ("init { parameter \"p\" var: x; } int x;", "'parameter' is not allowed in 'init'"),
    ("action a(int k) { } init { do a k: 1 j: 2; }", "action 'a' has no argument 'j'"),
    ("init { if true { float q <- 1.0; } float r <- q; }", "unknown name 'q'"),  # a local of the if block
    ("init { draw circle(1) color: #blue colour: #red; }", "facet 'colour' is not allowed in 'draw'"),
])
def test_checker_refuses(body, expected, cat):
    found = messages(model(body), cat)
    assert any(expected in m for m in found), found


def test_checker_scopes_skills_species_and_builtins(cat):
    text = model(
        "int n <- 3; geometry shape <- square(100);\n"
        "init { create walker number: n { speed <- 2.0; } }",
        "species walker skills: [moving] {\n"
        "  point target <- {50, 50};\n"
        "  reflex go when: cycle > 0 { do goto target: target speed: speed; do wander amplitude: 30.0; }\n"
        "  action hop(float d) { location <- location + {d, 0}; loop i from: 0 to: n { float k <- i * #pi; } }\n"
        "  aspect default { draw circle(1) color: #blue at: location; }\n"
        "}\n"
        "experiment e type: gui { parameter \"n\" var: n among: [1, 2, 3];\n"
        "  output { display d type: 2d { species walker aspect: default; } } }\n",
    )
    assert messages(text, cat) == []
    broken = text.replace("skills: [moving]", "skills: [movign]")
    assert "unknown skill 'movign'" in messages(broken, cat)
    broken = text.replace("do wander amplitude", "do wander amplitdue")
    assert "action 'wander' has no argument 'amplitdue'" in messages(broken, cat)
    broken = text.replace("location + {d, 0}", "locaton + {d, 0}")
    assert "unknown name 'locaton'" in messages(broken, cat)
    broken = text.replace("create walker number: n { speed", "create walker number: n { sped")
    assert "unknown name 'sped'" in messages(broken, cat)  # the create block runs as the new walker


# ------------------------------------------------------------------------------------------ CLI
def test_cli_exit_codes_and_output(tmp_path, capsys):
    assert check_gaml_main([]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "0 problem(s)" in err
    assert check_gaml_main([str(GAML / "forager_gym.gaml")]) == 0
    capsys.readouterr()

    bad = tmp_path / "bad.gaml"
    bad.write_text(model("init { int x <- 3 }"))
    assert check_gaml_main([str(bad)]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [f"{bad}:4:19: syntax error: unexpected '}}'; expected '->', ';', '<-', '{{', "
                                "a facet (action:), a facet (name:)"]
    names = tmp_path / "names.gaml"
    names.write_text(model("float y <- z + zz;"))
    assert check_gaml_main([str(names)]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [f"{names}:4:12: unknown name 'z'", f"{names}:4:16: unknown name 'zz'"]

    for args, what in (([str(tmp_path / "missing.gaml")], "no such file"), ([str(REPO / "README.md")], "not a .gaml"),
                       ([str(tmp_path)], "not a .gaml")):
        assert check_gaml_main(args) == 2
        out, err = capsys.readouterr()
        assert out == "" and len(err.splitlines()) == 1 and "error: " in err and what in err


def test_dispatcher_runs_check_gaml(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    bad = tmp_path / "x.gaml"
    bad.write_text("model m\nglobal { flaot x; }\n")
    r = subprocess.run([sys.executable, "-m", "sb3_forager", "check-gaml", str(bad)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 1 and r.stdout == f"{bad}:2:10: unknown statement or type 'flaot'\n", r
    r = subprocess.run([sys.executable, "-m", "sb3_forager", "check-gaml", "nope.gaml"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("error:") == 1


# ------------------------------------------------------------------------------------------ mutation test
def test_mutants_of_the_shipped_gaml_are_refused(cat):
    """Seeded faults (deleted ; and }, misspelt statement, facet, operator, variable): >= 90 % refused."""
    total, misses = 0, []
    kinds: dict[str, list[int]] = {}
    for f in sorted(GAML.glob("*.gaml")):
        for m in mutants(f.read_text(encoding="utf-8"), cat, per_kind=6):
            total += 1
            refused = bool(check_text(m.text, cat, f.parent))
            kinds.setdefault(m.kind, [0, 0])[0] += refused
            kinds[m.kind][1] += 1
            if not refused:
                misses.append(f"{f.name}: {m.describe()}")
    score = 1 - len(misses) / total
    print(f"\nmutation score {100 * score:.1f} % of {total} mutants; per kind "
          + ", ".join(f"{k} {r}/{n}" for k, (r, n) in kinds.items()))
    print("misses:\n  " + "\n  ".join(misses) if misses else "misses: none")
    assert len(kinds) == 6 and all(n >= 6 for _, n in kinds.values())
    assert score >= 0.9, misses


# ------------------------------------------------------------------------------------------ contract
@pytest.fixture()
def gaml_copy(tmp_path):
    dest = tmp_path / "gaml"
    shutil.copytree(GAML, dest)
    return dest


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_contract_refuses_a_renamed_petzagent_field(gaml_copy, cat):
    path = gaml_copy / "forager_petz.gaml"
    text = path.read_text(encoding="utf-8")
    import re

    path.write_text(re.sub(r"\bobservations\b", "observation_map", text), encoding="utf-8")
    found = [p.format() for p in check_shipped(gaml_copy, cat)]
    assert any("PetzAgentContract.reset_expr" in m and "'PetzAgent' has no attribute 'observations'" in m
               for m in found), found
    assert all("forager_petz.gaml" in m for m in found)


def test_contract_refuses_a_renamed_experiment(gaml_copy, cat):
    _edit(gaml_copy / "forager_petz_stress.gaml", "experiment petz_stress_env", "experiment petz_stress")
    found = [p.format() for p in check_shipped(gaml_copy, cat)]
    assert any("experiment 'petz_stress_env' (sb3_forager/models.py, model 'stress') is not in this file" in m
               for m in found), found


def test_contract_refuses_a_renamed_or_retyped_scenario_parameter(gaml_copy, cat):
    import re

    path = gaml_copy / "forager_gym.gaml"
    path.write_text(re.sub(r"\bfood_y\b", "food_yy", path.read_text(encoding="utf-8")), encoding="utf-8")
    _edit(gaml_copy / "forager_petz.gaml", "int max_steps <- 300;", "float max_steps <- 300.0;")
    found = [p.format() for p in check_shipped(gaml_copy, cat)]
    assert any("forager_gym.gaml" in m and "declares no parameter 'food_y' (float)" in m for m in found), found
    assert any("forager_petz.gaml" in m and "parameter 'max_steps' is sent as int" in m
               and "declared float" in m for m in found), found


def test_contract_refuses_a_bridge_field_of_the_wrong_type(gaml_copy, cat):
    _edit(gaml_copy / "forager_gym.gaml", "list<float> next_action <- [];", "string next_action <- \"\";")
    found = [p.format() for p in check_shipped(gaml_copy, cat)]
    assert any("GymAgentContract.action_expr" in m and "assigns a list to GymAgent.next_action, declared string" in m
               for m in found), found


def test_contract_names_a_missing_model_file_and_a_missing_w_world_file(gaml_copy, cat):
    (gaml_copy / "forager_gym.gaml").unlink()
    (gaml_copy / "forager_petz_worlds.gaml").unlink()
    found = [p.format() for p in check_shipped(gaml_copy, cat)]
    assert any("forager_gym.gaml" in m and "the GAML file of model 'forager' (sb3_forager/models.py) does not exist"
               in m for m in found), found  # fmt: skip
    assert any("forager_petz_worlds.gaml" in m and "the W-world GAML file of the team rules "
               "(sb3_forager/gama/batched.py) does not exist" in m for m in found), found  # fmt: skip
    assert not any("forager_petz.gaml" in m for m in found)  # the files that are there still pass


# ------------------------------------------------------------------------------------------ GAMA's library
@pytest.mark.skipif(not (GAMA_MIRROR / "HEAD").exists(), reason="no mirror of gama-platform/gama (GAMA_MIRROR)")
def test_gama_library_is_accepted(tmp_path, cat):
    from sb3_forager.lang.library import LIBRARY_DIR, check_library, extract_library

    commit, n = extract_library(GAMA_MIRROR, tmp_path)
    report = check_library(tmp_path / LIBRARY_DIR, cat)
    print(f"\ngama.library at {commit[:9]}: accepted {len(report.accepted)}/{report.total} "
          f"= {100 * report.share:.1f} %")
    for path, problems in sorted(report.refused.items()):
        print(f"  refused {path.relative_to(tmp_path)}: {problems[0].message}")
    assert report.total >= 250 and report.share >= 0.95
