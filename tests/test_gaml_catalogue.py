"""Tests of the GAML catalogue (sb3_forager/lang/catalogue.json) and of its extractor.

Three kinds of checks:
- the shipped catalogue holds what the shipped GAML and GAMA's model library use (statements and
  facets, operators with their arity, skills, units/constants, built-in agent attributes), read by
  path, so nothing of the lang package has to import;
- the extractor's rules (inherited @facets/@inside, operator arities with IScope / receiver /
  iterator name, type ids to names, skills gathered over superclasses, units) on a small Java tree
  written here, which runs wherever tree-sitter is installed;
- the extractor regenerates the shipped file byte for byte from the GAMA mirror (skipped when the
  mirror is absent), and ``--check`` tells a stale file from an up-to-date one.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "sb3_forager" / "lang" / "catalogue.json"
SCRIPT = ROOT / "scripts" / "extract_gaml_catalogue.py"
GAML_DIR = ROOT / "sb3_forager" / "gaml"
MIRROR = Path("/work/.mirror/gama-platform+gama/repo")
HEX40 = re.compile(r"^[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def cat() -> dict:
    return json.loads(CATALOGUE.read_text(encoding="utf-8"))


def _load_script():
    spec = importlib.util.spec_from_file_location("extract_gaml_catalogue", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _strip_gaml(text: str) -> str:
    """GAML text without comments and string contents (so `#` in them is not taken as a unit)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return re.sub(r"'(\\.|[^'\\])*'", "''", text)


# ------------------------------------------------------------------------------ the shipped file
def test_header_states_the_commits(cat):
    assert HEX40.match(cat["gama_commit"]), cat["gama_commit"]
    assert cat["gama_commit"].startswith("a2d46ed3f")
    assert HEX40.match(cat["onnx_plugin_commit"])
    assert cat["generated_by"] == "scripts/extract_gaml_catalogue.py"
    for key in ("statements", "operators", "types", "skills", "builtin_attributes", "builtin_actions",
                "constants"):
        assert isinstance(cat[key], dict) and cat[key], key


def test_statements_and_facets(cat):
    st = cat["statements"]
    for kw in ("species", "global", "grid", "reflex", "init", "action", "experiment", "parameter", "ask",
               "create", "loop", "if", "else", "return", "do", "display", "aspect", "draw", "write", "let",
               "output", "save", "monitor", "chart", "data", "switch", "match", "try", "catch", "arg"):
        assert kw in st, kw
    assert st["reflex"]["facets"]["when"] == {"types": ["bool"], "optional": True}
    assert st["reflex"]["kind"] == "BEHAVIOR" and st["reflex"]["with_sequence"] is True
    assert {"SPECIES", "MODEL", "EXPERIMENT"} <= set(st["reflex"]["in"])
    assert "among" in st["parameter"]["facets"] and st["parameter"]["in"] == ["EXPERIMENT"]
    assert st["create"]["omissible"] == "species" and "number" in st["create"]["facets"]
    assert st["loop"]["facets"].keys() >= {"from", "to", "step", "over", "times", "while"}
    assert st["if"]["omissible"] == "condition" and st["if"]["facets"]["condition"]["optional"] is False
    assert st["else"]["in"] == ["if"]
    assert {"series", "histogram", "pie", "xy"} <= set(st["chart"]["facets"]["type"]["values"])
    assert "rule" in st and "do_rule" in st  # BDI's rule and the rules architecture's do_rule


def test_declarations_and_keyword_conversions(cat):
    """`float speed <- 1.0 min: 0;`: a type as keyword, the facets of its kind's declaration."""
    assert cat["types"]["float"]["kind"] == "NUMBER" and cat["types"]["list"]["kind"] == "REGULAR"
    number, regular = cat["declarations"]["NUMBER"], cat["declarations"]["REGULAR"]
    assert {"<-", "init", "update", "min", "max", "step", "among", "on_change"} <= number["facets"].keys()
    assert "min" not in regular["facets"] and "of" in regular["facets"]
    assert {"SPECIES", "MODEL", "EXPERIMENT"} <= set(number["in"])
    conv = cat["keyword_conversions"]
    assert conv["map"] == {"grid": "display_grid", "image": "picture", "species": "species_layer"}
    assert "display" in conv["inside"]
    assert all(v in cat["statements"] for v in conv["map"].values())
    assert {"true", "false", "nil", "myself"} == set(cat["reserved_names"])


def test_operators_with_arity(cat):
    ops = cat["operators"]
    assert ops["distance_to"]["arities"] == [2]
    assert set(ops["rnd"]["arities"]) >= {1, 2}
    assert 1 in ops["from_json"]["arities"]
    assert ops["onnx_predict"]["arities"] == [2, 3] and ops["onnx_predict"]["sources"] == ["onnx"]
    assert {"args": ["onnx_model", "unknown"], "returns": "dataframe"} in ops["onnx_predict"]["signatures"]
    assert {"args": ["point", "point"], "returns": "float"} in ops["distance_to"]["signatures"]
    assert ops["onnx_model"]["arities"] == [1, 2]
    # iterators count without the hidden iterator-name parameter
    for it in ("where", "collect", "with_max_of", "first_with", "count"):
        assert ops[it]["arities"] == [2] and ops[it]["iterator"] is True, it
    assert 1 in ops["-"]["arities"] and 2 in ops["-"]["arities"]  # unary minus and subtraction
    assert ops["flip"] == {**ops["flip"], "arities": [1], "returns": ["bool"]}
    assert ops["csv_file"]["returns"] == ["csv_file"] and 1 in ops["csv_file"]["arities"]


def test_types(cat):
    t = cat["types"]
    assert t["int"] == {**t["int"], "id": 1, "parametric": False}
    assert t["float"]["id"] == 2 and t["rgb"]["id"] == 6 and t["point"]["id"] == 7
    assert t["list"]["parametric"] and t["map"]["parametric"] and not t["geometry"]["parametric"]
    for name in ("agent", "species", "geometry", "string", "bool", "pair", "matrix", "date", "dataframe",
                 "onnx_model", "csv_file", "json_file"):
        assert name in t, name
    assert cat["type_attributes"]["point"]["x"] == "float"


def test_skills_and_builtins(cat):
    moving = cat["skills"]["moving"]
    assert moving["attributes"]["speed"] == "float" and moving["attributes"]["heading"] == "float"
    assert {"goto", "move", "wander", "follow"} <= moving["actions"].keys()
    assert moving["actions"]["goto"]["args"]["target"]["optional"] is False
    assert cat["skills"]["fsm"]["control"] is True and cat["skills"]["moving"]["control"] is False
    agent = cat["builtin_attributes"]["agent"]
    assert agent["location"] == "point" and agent["shape"] == "geometry" and agent["name"] == "string"
    model = cat["builtin_attributes"]["model"]
    assert {"cycle", "step", "seed", "world", "time"} <= model.keys()
    assert "die" in cat["builtin_actions"]["agent"]
    assert {"grid_x", "grid_y", "neighbors"} <= cat["builtin_attributes"]["grid"].keys()


def test_constants(cat):
    c = cat["constants"]
    assert c["pi"]["type"] == "float" and c["pi"]["unit"] is False
    assert c["blue"]["type"] == "rgb"
    assert c["cycle"]["unit"] is True and c["cycles"]["alias_of"] == "cycle"
    assert c["m"]["unit"] and c["km"]["unit"] and c["s"]["unit"]


def test_shipped_gaml_names_are_in_the_catalogue(cat):
    """Every #unit and every skill our GAML files name is one GAMA declares."""
    files = sorted(GAML_DIR.glob("*.gaml"))
    assert files
    for f in files:
        text = _strip_gaml(f.read_text(encoding="utf-8"))
        for m in re.finditer(r"#\s*([A-Za-z_][A-Za-z_0-9]*)", text):
            assert m.group(1) in cat["constants"], f"{f.name}: #{m.group(1)}"
        for m in re.finditer(r"skills\s*:\s*\[([^\]]*)\]", text):
            for s in filter(None, (x.strip() for x in m.group(1).split(","))):
                assert s in cat["skills"], f"{f.name}: skill {s}"
        for m in re.finditer(r"\b([a-z_][a-z_0-9]*)\s*\(", text):
            name = m.group(1)
            if name in ("onnx_predict", "onnx_model", "from_json", "to_json", "rnd", "distance_to", "flip"):
                assert name in cat["operators"], f"{f.name}: {name}"


def _library_files():
    out = subprocess.run(["git", "-C", str(MIRROR), "ls-tree", "-r", "--name-only", "HEAD", "gama.library"],
                         capture_output=True, text=True, check=True, timeout=120).stdout.split("\n")
    return [f for f in out if f.endswith(".gaml")]


@pytest.mark.skipif(not (MIRROR / "HEAD").is_file(), reason="no GAMA mirror on this machine")
def test_library_units_skills_and_controls_resolve(cat):
    """Every #name, `skills:` entry and `control:` GAMA's own model library uses is in the catalogue."""
    files = _library_files()
    assert len(files) > 250
    missing, seen = [], 0
    req = "".join(f"HEAD:{f}\n" for f in files).encode()
    blob = subprocess.run(["git", "-C", str(MIRROR), "cat-file", "--batch"], input=req, capture_output=True,
                          check=True, timeout=300).stdout
    pos = 0
    for f in files:
        nl = blob.index(b"\n", pos)
        size = int(blob[pos:nl].split()[2])
        text = _strip_gaml(blob[nl + 1:nl + 1 + size].decode("utf-8", "replace"))
        pos = nl + 1 + size + 1
        for m in re.finditer(r"#\s*([A-Za-z_µ°][A-Za-z_0-9]*)", text):
            seen += 1
            if m.group(1) not in cat["constants"]:
                missing.append(f"{f}: #{m.group(1)}")
        for m in re.finditer(r"skills\s*:\s*\[([^\]]*)\]", text):
            for s in filter(None, (x.strip() for x in m.group(1).split(","))):
                if s not in cat["skills"]:
                    missing.append(f"{f}: skill {s}")
        for m in re.finditer(r"control\s*:\s*(\w+)", text):
            if not cat["skills"].get(m.group(1), {}).get("control"):
                missing.append(f"{f}: control {m.group(1)}")
    assert seen > 1000
    assert not missing, "\n".join(missing[:40])


# ------------------------------------------------------------------------- the extractor's rules
JAVA_FIXTURE = {
    "plug/.factorypath": "",
    "plug/src/t/IType.java": """package t;
public interface IType { int LABEL = -200; int ID = -201; int NONE = 0; int INT = 1; int FLOAT = 2; int BOOL = 3;
  int LIST = 5; int POINT = 7; int BASE = 5000; }""",
    "plug/src/t/ISymbolKind.java": """package t;
public enum ISymbolKind { BEHAVIOR(3), SEQUENCE_STATEMENT(11), ACTION(11), SPECIES(0);
  final int code; ISymbolKind(int c) { code = c; } }""",
    "plug/src/t/K.java": """package t;
public interface K { String WHEN = "when"; String NAME = "name"; String PREFIX = "my"; String MOVE = PREFIX + "_move"; }""",
    "plug/src/t/Types.java": """package t;
import gama.annotations.type;
@type(name = "int", id = IType.INT, wraps = { Integer.class }) class IntType {}
@type(name = "bool", id = IType.BOOL, wraps = { Boolean.class }) class BoolType {}
@type(name = "float", id = IType.FLOAT, wraps = { Double.class }) class FloatType {}
@type(name = "point", id = IType.POINT, wraps = { IPoint.class }) class PointType {}
@type(name = "list", id = IType.LIST, wraps = { IList.class }) class ListType extends GamaContainerType {}
@type(name = "thing", id = IType.BASE + 7, wraps = { Thing.class }) class ThingType {}
class GamaContainerType {}
interface IList {}
class Thing {}
class GamaPoint implements IPoint {}""",
    "plug/src/t/IPoint.java": """package t;
import gama.annotations.*;
@vars({ @variable(name = "x", type = IType.FLOAT), @variable(name = "y", type = IType.FLOAT) })
public interface IPoint {
  @operator(value = "+") IPoint plus(double d);
}""",
    "plug/src/t/Base.java": """package t;
import gama.annotations.*;
@inside(kinds = { ISymbolKind.SPECIES }, symbols = { "global" })
@facets(value = { @facet(name = K.WHEN, type = IType.BOOL, optional = true),
                  @facet(name = K.NAME, type = { IType.ID, IType.LABEL }, optional = false, values = { "b", "a" }) },
        omissible = K.NAME)
public abstract class Base {}""",
    "plug/src/t/Reflexish.java": """package t;
import gama.annotations.*;
@symbol(name = { "reflexish", "initish" }, kind = ISymbolKind.BEHAVIOR, with_sequence = true)
public class Reflexish extends Base {}
@symbol(name = "initish", kind = ISymbolKind.SEQUENCE_STATEMENT, with_sequence = false)
@facets(value = { @facet(name = "when", type = IType.INT, optional = true), @facet(name = "extra", type = IType.INT) })
class Initish {}""",
    "plug/src/t/Ops.java": """package t;
import gama.annotations.*;
public class Ops {
  @operator(value = { "near", "close_to" }) public static Double near(final IScope scope, final IPoint a, final IPoint b) { return 0d; }
  @operator(value = "near") public static GamaPoint near3(final IScope s, IPoint a, IPoint b, Double d) { return null; }
  @operator(value = "twice") public static Integer twice(Integer i) { return 2 * i; }
  @operator(value = "picked", iterator = true) public static IList picked(final IScope s, final String eachName, final IList c, final IExpression e) { return c; }
  @operator(value = "thing", type = IType.BASE + 7) public static Object thing(final IScope s, Object o) { return o; }
}""",
    "plug/src/t/Skills.java": """package t;
import gama.annotations.*;
import static t.K.MOVE;
class SkillBase implements IVarAndActionSupport {
  @action(name = "base_act") public Object b(final IScope s) { return null; }
}
@skill(name = "walking")
@vars({ @variable(name = "pace", type = IType.FLOAT) })
class Walking extends SkillBase {
  @action(name = MOVE, args = { @arg(name = "to", type = IType.POINT, optional = false), @arg(name = "pace", type = IType.FLOAT) })
  public Double move(final IScope s) { return 0d; }
}
interface IVarAndActionSupport {}""",
    "plug/src/t/Units.java": """package t;
import gama.annotations.*;
public interface Units {
  @constant(value = "m", altNames = { "meter" }, category = { "Length units" }) double m = 1;
  @constant(value = "pi", category = { "Constants" }) double pi = Math.PI;
}""",
    "other/src/t/Hidden.java": """package t;
import gama.annotations.*;
public class Hidden { @operator(value = "hidden") public static Double h(Double d) { return d; } }""",
}


@pytest.fixture(scope="module")
def fixture_catalogue(tmp_path_factory) -> dict:
    pytest.importorskip("tree_sitter")
    pytest.importorskip("tree_sitter_java")
    root = tmp_path_factory.mktemp("gama_src")
    for rel, text in JAVA_FIXTURE.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    out = root / "catalogue.json"
    mod = _load_script()
    rc = mod.main(["--gama-src", str(root), "--gama-commit", "1" * 40, "--out", str(out)])
    assert rc == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_rules_statements(fixture_catalogue):
    st = fixture_catalogue["statements"]
    assert set(st) == {"reflexish", "initish"}
    r = st["reflexish"]
    # @facets and @inside inherited from the superclass, as Java's @Inherited does
    assert r["facets"] == {"when": {"types": ["bool"], "optional": True},
                           "name": {"types": ["id", "label"], "optional": False, "values": ["a", "b"]}}
    assert r["omissible"] == "name" and r["kind"] == "BEHAVIOR" and r["with_sequence"] is True
    assert r["in"] == ["SPECIES", "global"] and r["in_kinds"] == ["SPECIES"] and r["in_symbols"] == ["global"]
    # a keyword two symbols declare: each variant kept, facets united (required only if all require it)
    i = st["initish"]
    assert len(i["variants"]) == 2 and i["kinds"] == ["BEHAVIOR", "SEQUENCE_STATEMENT"]
    assert i["facets"]["when"] == {"types": ["bool", "int"], "optional": True}
    assert i["facets"]["extra"]["optional"] is True and i["facets"]["name"]["optional"] is True
    assert fixture_catalogue["symbol_kinds"] == {"BEHAVIOR": 3, "SEQUENCE_STATEMENT": 11, "ACTION": 11, "SPECIES": 0}
    assert fixture_catalogue["gama_commit"] == "1" * 40


def test_rules_operators(fixture_catalogue):
    ops = fixture_catalogue["operators"]
    assert ops["near"]["arities"] == [2, 3] and ops["near"]["returns"] == ["float", "point"]
    assert ops["close_to"]["arities"] == [2]
    assert ops["twice"] == {**ops["twice"], "arities": [1], "returns": ["int"]}  # no IScope parameter
    assert ops["+"]["arities"] == [2] and ops["+"]["returns"] == ["point"]  # instance method: receiver counts
    assert ops["picked"]["arities"] == [2] and ops["picked"]["iterator"] is True  # iterator name hidden
    assert ops["picked"]["signatures"] == [{"args": ["list", "unknown"], "returns": "list"}]
    assert {"args": ["point", "float"], "returns": "point"} in ops["+"]["signatures"]  # receiver first
    assert ops["thing"]["returns"] == ["thing"]  # explicit type id wins over the Java Object
    assert "hidden" not in ops  # a plugin without .factorypath is not annotation-processed
    assert "onnx_predict" in ops  # the ONNX table is merged when no --onnx-src is given


def test_rules_types_skills_constants(fixture_catalogue):
    t = fixture_catalogue["types"]
    assert t["list"]["parametric"] is True and t["int"]["parametric"] is False and t["thing"]["id"] == 5007
    assert fixture_catalogue["type_attributes"]["point"] == {"x": "float", "y": "float"}
    w = fixture_catalogue["skills"]["walking"]
    assert w["attributes"] == {"pace": "float"}
    assert set(w["actions"]) == {"my_move", "base_act"}  # static import, string concatenation, superclass
    assert w["actions"]["my_move"]["args"] == {"to": {"type": "point", "optional": False},
                                               "pace": {"type": "float", "optional": True}}
    c = fixture_catalogue["constants"]
    assert c["m"]["unit"] is True and c["meter"]["alias_of"] == "m" and c["pi"]["unit"] is False


def test_onnx_plugin_read_from_a_source_folder(tmp_path):
    """--onnx-src reads a plugin folder's annotations instead of the built-in ONNX table."""
    pytest.importorskip("tree_sitter")
    pytest.importorskip("tree_sitter_java")
    gama = tmp_path / "gama"
    for rel in ("plug/.factorypath", "plug/src/t/IType.java", "plug/src/t/Types.java"):
        (gama / rel).parent.mkdir(parents=True, exist_ok=True)
        (gama / rel).write_text(JAVA_FIXTURE[rel], encoding="utf-8")
    onnx = tmp_path / "onnx" / "src" / "o"
    onnx.mkdir(parents=True)
    (onnx / "Ops.java").write_text("""package o;
import gama.annotations.operator;
public class Ops { @operator(value = "onnx_thing") public static Double f(final IScope s, final String p, Double d) { return d; } }""")
    out = tmp_path / "c.json"
    mod = _load_script()
    assert mod.main(["--gama-src", str(gama), "--gama-commit", "2" * 40, "--onnx-src", str(tmp_path / "onnx"),
                     "--onnx-commit", "3" * 40, "--out", str(out)]) == 0
    c = json.loads(out.read_text(encoding="utf-8"))
    assert c["operators"]["onnx_thing"] == {"arities": [2], "iterator": False, "returns": ["float"],
                                            "sources": ["onnx"],
                                            "signatures": [{"args": ["string", "float"], "returns": "float"}]}
    assert "onnx_predict" not in c["operators"] and c["onnx_plugin_commit"] == "3" * 40


# ---------------------------------------------------------------------- regeneration and --check
@pytest.mark.skipif(not (MIRROR / "HEAD").is_file(), reason="no GAMA mirror on this machine")
def test_regenerates_identically_from_the_mirror(tmp_path):
    pytest.importorskip("tree_sitter")
    pytest.importorskip("tree_sitter_java")
    out = tmp_path / "catalogue.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--mirror", str(MIRROR), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8") == CATALOGUE.read_text(encoding="utf-8")
    ok = subprocess.run([sys.executable, str(SCRIPT), "--check", "--out", str(CATALOGUE)],
                        capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    stale = json.loads(out.read_text(encoding="utf-8"))
    del stale["operators"]["distance_to"]
    out.write_text(json.dumps(stale), encoding="utf-8")
    bad = subprocess.run([sys.executable, str(SCRIPT), "--check", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 1 and "operators" in bad.stdout


def test_bad_usage_is_one_error_line(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--mirror", str(tmp_path / "nowhere")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
