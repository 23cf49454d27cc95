#!/usr/bin/env python3
"""Extract the GAML name catalogue (sb3_forager/lang/catalogue.json) from GAMA's Java sources.

GAMA declares the names of its language with Java annotations, which its annotation processor
(gama.processor) turns into the registries the GAML validator checks models against. This script
reads the same annotations, with tree-sitter's Java grammar, straight from a bare git mirror of
``gama-platform/gama`` (``git cat-file``; default /work/.mirror/gama-platform+gama/repo) or from a
checkout (``--gama-src``), and writes the catalogue with the commit it was read at.

Which sources: the plugins GAMA runs its annotation processor on, i.e. every top-level folder of
the repository that holds a ``.factorypath`` (gama.api, gama.core, gaml.compiler, gama.headless,
the gama.extension.* and the gama.ui.display.* plugins); the ``.java`` files under their ``src/``.

What is read, and how it maps (GAMA's own rules, read off gama.processor and gama.api):

- ``statements``: every class annotated ``@symbol``; one entry per keyword in ``name``. ``facets``
  and ``omissible`` come from ``@facets`` and ``in`` from ``@inside``, both ``@Inherited``
  annotations, so a class without its own takes its nearest superclass's. ``omissible`` is the
  annotation's value (default ``name``) when such a facet exists, else null. Facet types are
  GAMA type ids turned into type names; the special ids are named after their IType constants
  (``label``, ``id``, ``type_id``, ``new_var_id``, ``new_temp_id``). ``args`` is ``with_args``.
  Added keys: ``in_kinds`` / ``in_symbols`` (the two halves of ``in``: ISymbolKind names and
  keywords), ``kinds`` (every kind the keyword has), ``unique_in_context``, ``unique_name``,
  ``breakable``, ``continuable``, ``internal``, facet keys ``values`` (allowed literals),
  ``internal`` and ``remote_context``, and ``variants`` when several classes declare one
  keyword (none at a2d46ed3f): each variant in full, the top-level fields then being their union
  (a facet required only if every variant requires it; ``kind`` the first variant's).
- ``operators``: every ``@operator`` method. Names are ``value`` (the method name when empty).
  Arity as gama.processor counts it: the parameters, minus a first ``IScope`` one, plus one for
  the receiver of an instance method; an iterator overload (``where``, ``collect``...) also takes
  the name of its iterator variable as a first ``String``, which GAMA's compiler injects
  (ExpressionCompilationSwitch.compileIteratorBinary), so it counts one operand less. ``returns``: the explicit ``type`` when it is a type id,
  otherwise the Java return class mapped to the GAML type that wraps it (``@type(wraps=...)``,
  searching its superclasses and interfaces; Java's boxed and primitive numbers, booleans and
  strings map to int/float/bool/string; anything else is ``unknown``). Added keys: ``iterator``
  (any overload an iterator), ``sources`` (plugins declaring it: folder names, or ``onnx``),
  ``signatures`` (per overload: the GAML types of its operands, the receiver first for an
  instance method, and what it returns).
  GAMA also makes an operator of every ``@file`` (``<name>_file`` with the arities of its
  constructors that take an ``IScope`` first, and 1; ``is_<name>``): those are included. Casts
  by a type or species name (``int(x)``, ``list<int>(x)``) are not operators here: every type in
  ``types`` (and every species) can be called so in GAML.
- ``types``: every ``@type`` (``id``; ``parametric`` when its class extends GamaContainerType,
  the types taking ``<...>`` parameters) and every ``@file`` type ``<name>_file`` (id null: GAMA
  numbers file types at run time; parametric). Added keys ``wraps`` (Java classes) and ``kind``
  (``@type(kind=...)``, default REGULAR: which entry of ``declarations`` a declaration with this
  type as keyword follows).
- ``declarations`` (added section): the nameless ``@symbol`` classes, by kind: the attribute and
  variable declarations whose keyword is a type or species name (``float speed <- 1.0 min: 0;``);
  NUMBER (int, float, point, date: with ``min``/``max``/``step``) and REGULAR (the others).
- ``skills``: every ``@skill``. Attributes (``@vars``) and actions (``@action``/``@arg``) are
  gathered over the class, its superclasses and its interfaces, as GAMA's
  ``JavaUtils.collectImplementationClasses`` does. Added keys: ``attach_to``, ``control`` (a
  control architecture: the class extends AbstractArchitecture; used as ``control: fsm``),
  action key ``returns``.
- ``builtin_attributes`` / ``builtin_actions``: every ``@species`` (agent, model, experiment,
  platform, graph_node, ...), gathered the same way plus the ``skills`` it names (only the ``@vars``
  of agent or skill classes, i.e. IVarAndActionSupport ones, which gama.processor registers as
  attributes; the others are fields of a type, see ``type_attributes``); ``grid`` is
  ``agent`` plus the grid skill (the grid statement's species), ``global`` is ``model``.
- ``constants``: every ``@constant`` field (``value`` and its ``altNames``; added keys
  ``category`` and ``alias_of``), the CSS colours (``ColorCSS.array``, type rgb) and the
  constants GAMA's ``IConstantsSupplier`` classes accept by literal name (``#default``).
  ``unit`` is true for the dimension categories (length, time, surface, volume, weight units).
- Added sections: ``type_attributes`` (``@vars`` declared on non-agent classes, the fields of a
  type: ``point.x``, ``date.year``...: by the type wrapping the class), ``symbol_kinds``
  (ISymbolKind names and codes: ACTION and SEQUENCE_STATEMENT share code 11 and GAMA treats
  them alike), ``keyword_conversions`` (the keywords gaml.compiler's GamlSyntacticConverter renames
  by their parent: ``species``/``grid``/``image`` inside ``display`` are the layers
  ``species_layer``/``display_grid``/``picture``), ``reserved_names`` (the names Assert.nameIsValid
  refuses for a declaration: Assert.RESERVED), ``experiment_types`` (``@experiment``), ``display_types`` (``@display``),
  ``unread`` (files or annotations the script could not read, with the reason) and ``onnx``
  (where the ONNX plugin's entries come from).

The ONNX plugin (gama-platform-plugins/gama.plugin.onnx) is not in the GAMA mirror; its names are
the small table ONNX_PLUGIN below, facts read from its sources at ONNX_PLUGIN_COMMIT. Pass
``--onnx-src DIR`` (a checkout of that plugin) to read them from its annotations instead.

Output is deterministic (sorted keys, sorted lists). ``--check`` regenerates and compares with the
shipped file: exit 0 when identical, 1 when not (the first differing sections are named), 2 on bad
usage (no tree-sitter, no sources).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

LOG = logging.getLogger("extract_gaml_catalogue")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "sb3_forager" / "lang" / "catalogue.json"
DEFAULT_MIRROR = Path("/work/.mirror/gama-platform+gama/repo")
GENERATED_BY = "scripts/extract_gaml_catalogue.py"

# --- the ONNX plugin: facts read from gama-platform-plugins/gama.plugin.onnx at this commit --------
ONNX_PLUGIN_COMMIT = "e8b60ef8e972532dbd6e883ef4f28c981c7c8aab"
# OnnxOperators.java: onnx_model(IScope, String) and (IScope, String, IMap) -> GamaOnnxModel (type
# onnx_model); onnx_predict(IScope, GamaOnnxModel, Object) -> IDataFrame (type dataframe) and
# (IScope, GamaOnnxModel, Object, String) -> Object; onnx_free(IScope, GamaOnnxModel) -> boolean;
# onnx_free_all(IScope, String) -> int. GamaOnnxFile.java: @file(name="onnx", extensions={"onnx"}),
# constructors (IScope, String) and (IScope, String, IMap). GamaOnnxModelType.java: @type(name=
# "onnx_model", id=IType.BEGINNING_OF_CUSTOM_TYPES + 100) extending GamaContainerType.
# GamaOnnxModel.java: @vars path (string), inputs, outputs (list), input_shapes, output_shapes,
# input_types, output_types, metadata (map), info (string).
ONNX_PLUGIN: dict[str, Any] = {
    "operators": {  # name -> [(operand types, returned type)], one per overload
        "onnx_model": [(["string"], "onnx_model"), (["string", "map"], "onnx_model")],
        "onnx_predict": [(["onnx_model", "unknown"], "dataframe"), (["onnx_model", "unknown", "string"], "unknown")],
        "onnx_free": [(["onnx_model"], "bool")],
        "onnx_free_all": [(["string"], "int")],
        "onnx_file": [(["string"], "onnx_file"), (["string", "map"], "onnx_file")],
        "is_onnx": [(["unknown"], "bool")],
    },
    "types": {
        "onnx_model": {"id": 5100, "parametric": True},
        "onnx_file": {"id": None, "parametric": True},
    },
    "type_attributes": {
        "onnx_model": {
            "path": "string", "inputs": "list", "outputs": "list", "input_shapes": "map",
            "output_shapes": "map", "input_types": "map", "output_types": "map", "metadata": "map",
            "info": "string",
        }
    },
}

# GAMA's special facet type ids (IType.LABEL ...), named after their constants
SPECIAL_TYPE_IDS = {-200: "label", -201: "id", -202: "type_id", -203: "new_var_id", -204: "new_temp_id"}
UNIT_CATEGORIES = {"Length units", "Time units", "Volume units", "Weight units", "Surface units"}
JAVA_TO_GAML = {
    "int": "int", "Integer": "int", "long": "int", "Long": "int", "short": "int", "Short": "int",
    "byte": "int", "char": "int", "double": "float", "Double": "float", "float": "float",
    "Float": "float", "Number": "float", "boolean": "bool", "Boolean": "bool", "String": "string",
    "Object": "unknown", "void": "unknown",
}


class Unresolved(Exception):
    """A Java expression in an annotation that the script cannot evaluate statically."""


# --------------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------------
class GitSource:
    """The files of one commit of a bare git repository, read with git itself."""

    def __init__(self, repo: Path, rev: str = "HEAD") -> None:
        self.repo = repo
        self.commit = self._git("rev-parse", f"{rev}^{{commit}}").strip()

    def _git(self, *args: str, data: bytes | None = None) -> str:
        out = subprocess.run(["git", "-C", str(self.repo), *args], input=data, capture_output=True,
                             check=True, timeout=300)
        return out.stdout.decode("utf-8", "replace")

    def list_files(self) -> list[str]:
        return self._git("ls-tree", "-r", "--name-only", "-z", self.commit).split("\0")[:-1]

    def read_many(self, paths: list[str]) -> Iterator[tuple[str, bytes | None, str]]:
        """Yield (path, content or None, reason) with one ``git cat-file --batch``."""
        req = "".join(f"{self.commit}:{p}\n" for p in paths).encode()
        proc = subprocess.run(["git", "-C", str(self.repo), "cat-file", "--batch"], input=req,
                              capture_output=True, timeout=600)
        buf, pos = proc.stdout, 0
        for p in paths:
            nl = buf.index(b"\n", pos)
            header = buf[pos:nl].decode("utf-8", "replace").split()
            pos = nl + 1
            if len(header) >= 2 and header[-1] == "missing" or len(header) < 3:
                yield p, None, "absent from the snapshot (git cat-file: missing)"
                continue
            size = int(header[2])
            yield p, buf[pos:pos + size], ""
            pos += size + 1


class DirSource:
    """The files of a checkout folder."""

    def __init__(self, root: Path, commit: str | None) -> None:
        self.root = root
        if commit is None and (root / ".git").exists():
            try:
                commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                        check=True, timeout=60, text=True).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                commit = None
        self.commit = commit or "unknown"

    def list_files(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def read_many(self, paths: list[str]) -> Iterator[tuple[str, bytes | None, str]]:
        for p in paths:
            try:
                yield p, (self.root / p).read_bytes(), ""
            except OSError as exc:
                yield p, None, f"unreadable: {exc}"


LIBRARY_PLUGINS = ("gama.annotations",)  # read only to resolve constants (IKeyword, IConcept, ...)


def library_java_files(files: Iterable[str]) -> list[str]:
    """The .java files of the plugins read only for their constants."""
    return sorted(f for f in files if f.endswith(".java") and f.split("/")[0] in LIBRARY_PLUGINS)


def processed_java_files(files: Iterable[str]) -> list[str]:
    """The .java files under src/ of the plugins holding a .factorypath (annotation-processed)."""
    files = list(files)
    plugins = {f.split("/")[0] for f in files if f.count("/") == 1 and f.endswith("/.factorypath")}
    return sorted(f for f in files if f.endswith(".java") and f.split("/")[0] in plugins
                  and f.split("/")[1:2] == ["src"])


# --------------------------------------------------------------------------------------------------
# the Java model (classes, fields, methods, annotations) built from tree-sitter trees
# --------------------------------------------------------------------------------------------------
@dataclass
class JClass:
    name: str
    qname: str
    path: str
    kind: str  # class / interface / enum / record / annotation
    node: Any
    src: bytes
    outer: "JClass | None"
    supers: list[str] = field(default_factory=list)  # simple names (generic arguments dropped)
    superclass: str | None = None
    annotations: list[Any] = field(default_factory=list)
    fields: dict[str, tuple[Any, Any, list[Any]]] = field(default_factory=dict)  # name -> (type, init, anns)
    methods: list[dict[str, Any]] = field(default_factory=list)
    constructors: list[dict[str, Any]] = field(default_factory=list)
    enum_constants: list[str] = field(default_factory=list)
    unit: "JUnit | None" = None


@dataclass
class JUnit:
    path: str
    package: str
    imports: dict[str, str]  # simple name -> qualified
    static_imports: list[str]  # qualified class names (on-demand or single member)
    classes: list[JClass]


def _text(node: Any, src: bytes) -> str:
    return src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _type_name(node: Any, src: bytes) -> str:
    """The simple raw name of a Java type node (generic arguments and qualifiers dropped)."""
    if node is None:
        return "void"
    t = node.type
    if t == "generic_type":
        return _type_name(node.named_children[0], src)
    if t == "scoped_type_identifier":
        return _text(node, src).split(".")[-1].split("<")[0]
    if t == "array_type":
        return _type_name(node.child_by_field_name("element"), src) + "[]"
    if t == "annotated_type":
        return _type_name(node.named_children[-1], src)
    return _text(node, src).split("<")[0].split(".")[-1]


def _type_ref(node: Any, src: bytes) -> str:
    """A supertype as written, qualifiers kept (``ITopLevelAgent.Platform``), generic arguments dropped."""
    if node.type == "generic_type":
        return _type_ref(node.named_children[0], src)
    if node.type == "scoped_type_identifier":
        return ".".join(_type_ref(c, src) for c in node.named_children if c.type != "annotation")
    return _text(node, src).split("<")[0]


def _annotations_of(node: Any) -> list[Any]:
    for ch in node.children:
        if ch.type == "modifiers":
            return [a for a in ch.children if a.type in ("annotation", "marker_annotation")]
    return []


def _modifiers(node: Any, src: bytes) -> set[str]:
    for ch in node.children:
        if ch.type == "modifiers":
            return {_text(c, src) for c in ch.children if c.type not in ("annotation", "marker_annotation")}
    return set()


def _ann_name(ann: Any, src: bytes) -> str:
    return _text(ann.child_by_field_name("name"), src).split(".")[-1]


CLASS_NODES = {"class_declaration": "class", "interface_declaration": "interface", "enum_declaration": "enum",
               "record_declaration": "record", "annotation_type_declaration": "annotation"}


def build_unit(path: str, src: bytes, tree: Any) -> JUnit:
    root = tree.root_node
    package, imports, static_imports = "", {}, []
    for ch in root.children:
        if ch.type == "package_declaration":
            package = _text(ch.named_children[0], src)
        elif ch.type == "import_declaration":
            txt = _text(ch, src).removeprefix("import").strip().rstrip(";").strip()
            is_static = txt.startswith("static ")
            txt = txt.removeprefix("static ").strip()
            if is_static:
                static_imports.append(txt[:-2] if txt.endswith(".*") else txt.rsplit(".", 1)[0])
            elif not txt.endswith(".*"):
                imports[txt.rsplit(".", 1)[-1]] = txt
    unit = JUnit(path, package, imports, static_imports, [])

    def visit(node: Any, outer: JClass | None) -> None:
        for ch in node.named_children:
            if ch.type in CLASS_NODES:
                name = _text(ch.child_by_field_name("name"), src)
                qname = (outer.qname + "." if outer else (package + "." if package else "")) + name
                jc = JClass(name, qname, path, CLASS_NODES[ch.type], ch, src, outer, unit=unit)
                jc.annotations = _annotations_of(ch)
                sc = ch.child_by_field_name("superclass")
                if sc is not None:
                    jc.superclass = _type_ref(sc.named_children[0], src)
                    jc.supers.append(jc.superclass)
                for key in ("interfaces",):
                    itf = ch.child_by_field_name(key)
                    if itf is not None:
                        for tl in itf.named_children:
                            for t in tl.named_children:
                                jc.supers.append(_type_ref(t, src))
                for ext in ch.children:  # interfaces extending interfaces
                    if ext.type == "extends_interfaces":
                        for tl in ext.named_children:
                            for t in tl.named_children:
                                jc.supers.append(_type_ref(t, src))
                unit.classes.append(jc)
                body = ch.child_by_field_name("body")
                if body is not None:
                    read_body(jc, body)
                    visit(body, jc)
            elif ch.type in ("enum_body_declarations",):
                visit(ch, outer)

    def read_body(jc: JClass, body: Any) -> None:
        members = list(body.named_children)
        for m in list(members):
            if m.type == "enum_body_declarations":
                members.extend(m.named_children)
        for m in members:
            if m.type == "enum_constant":
                jc.enum_constants.append(_text(m.child_by_field_name("name"), src))
            elif m.type in ("field_declaration", "constant_declaration"):
                ftype = m.child_by_field_name("type")
                for d in m.children_by_field_name("declarator"):
                    jc.fields[_text(d.child_by_field_name("name"), src)] = (
                        ftype, d.child_by_field_name("value"), _annotations_of(m))
            elif m.type in ("method_declaration", "constructor_declaration"):
                params = []
                plist = m.child_by_field_name("parameters")
                for p in plist.named_children if plist is not None else []:
                    if p.type in ("formal_parameter", "spread_parameter"):
                        tnode = p.child_by_field_name("type")
                        if tnode is None:
                            tnode = next((c for c in p.named_children if c.type.endswith("type")
                                          or c.type == "type_identifier"), None)
                        params.append(_type_name(tnode, src))
                entry = {"name": _text(m.child_by_field_name("name"), src), "params": params,
                         "modifiers": _modifiers(m, src), "annotations": _annotations_of(m),
                         "returns": _type_name(m.child_by_field_name("type"), src)
                         if m.type == "method_declaration" else jc.name, "node": m}
                (jc.methods if m.type == "method_declaration" else jc.constructors).append(entry)

    visit(root, None)
    return unit


# --------------------------------------------------------------------------------------------------
# static evaluation of constants and annotation values
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnumConst:
    cls: str
    name: str


@dataclass(frozen=True)
class ClassRef:
    name: str


@dataclass
class Annotation:
    name: str
    values: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


class Model:
    """All classes of the processed sources, with name resolution and constant evaluation."""

    def __init__(self, units: list[JUnit]) -> None:
        self.units = units
        self.by_simple: dict[str, list[JClass]] = defaultdict(list)
        self.by_qname: dict[str, JClass] = {}
        for u in units:
            for c in u.classes:
                self.by_simple[c.name].append(c)
                self.by_qname[c.qname] = c
        self._const_cache: dict[tuple[str, str], Any] = {}
        self._super_cache: dict[str, list[JClass]] = {}
        self._in_progress: set[tuple[str, str]] = set()
        self.unresolved: list[str] = []

    # -- classes
    def resolve_class(self, name: str, ctx: JClass | None, inherited: bool = True) -> JClass | None:
        """A class by its simple (or dotted) name as seen from ``ctx`` (member types of supertypes too
        unless ``inherited`` is false, as when resolving the supertypes themselves)."""
        if "." in name:
            head, rest = name.split(".", 1)
            c = self.resolve_class(head, ctx, inherited)
            if c is not None:
                for part in rest.split("."):
                    nxt = self.by_qname.get(c.qname + "." + part)
                    if nxt is None:
                        return self.by_qname.get(name)
                    c = nxt
                return c
            return self.by_qname.get(name)
        if ctx is not None:
            # nested classes of ctx and its outers, then imports, then the package
            c: JClass | None = ctx
            while c is not None:
                nested = self.by_qname.get(c.qname + "." + name)
                if nested is not None:
                    return nested
                for sup in self.supertypes(c) if inherited else []:
                    nested = self.by_qname.get(sup.qname + "." + name)
                    if nested is not None:
                        return nested
                c = c.outer
            if ctx.unit is not None:
                q = ctx.unit.imports.get(name)
                if q and q in self.by_qname:
                    return self.by_qname[q]
                pk = ctx.unit.package
                if pk and f"{pk}.{name}" in self.by_qname:
                    return self.by_qname[f"{pk}.{name}"]
        cands = self.by_simple.get(name, [])
        if not cands:
            return None
        top = [c for c in cands if c.outer is None] or cands
        return sorted(top, key=lambda c: c.path)[0]

    def supertypes(self, c: JClass, _seen: set[str] | None = None) -> list[JClass]:
        """Every superclass and interface of ``c`` found in the sources (transitively), nearest first."""
        if _seen is None and c.qname in self._super_cache:
            return self._super_cache[c.qname]
        seen = _seen if _seen is not None else {c.qname}
        out: list[JClass] = []
        for s in c.supers:
            sc = self.resolve_class(s, c, inherited=False) if s != c.name else None
            if sc is None or sc.qname in seen:
                continue
            seen.add(sc.qname)
            out.append(sc)
            out.extend(self.supertypes(sc, seen))
        if _seen is None:
            self._super_cache[c.qname] = out
        return out

    def superclass_chain(self, c: JClass) -> list[JClass]:
        out, cur, seen = [], c, {c.qname}
        while cur.superclass:
            nxt = self.resolve_class(cur.superclass, cur, inherited=False)
            if nxt is None or nxt.qname in seen:
                break
            seen.add(nxt.qname)
            out.append(nxt)
            cur = nxt
        return out

    def is_subtype(self, c: JClass, name: str) -> bool:
        return c.name == name or any(s.name == name for s in self.supertypes(c)) or \
            any(s.split(".")[-1] == name for s in c.supers)

    # -- constants
    def field_value(self, c: JClass, fname: str) -> Any:
        """The value of a static constant ``fname`` seen from class ``c`` (own, outer, supertypes)."""
        cur: JClass | None = c
        while cur is not None:
            for k in [cur, *self.supertypes(cur)]:
                if fname in k.fields:
                    return self._eval_field(k, fname)
                if fname in k.enum_constants:
                    return EnumConst(k.name, fname)
            cur = cur.outer
        if c.unit is not None:
            for q in c.unit.static_imports:
                k = self.by_qname.get(q) or self.resolve_class(q.rsplit(".", 1)[-1], None)
                if k is not None and (fname in k.fields or fname in k.enum_constants):
                    return self.field_value(k, fname)
        raise Unresolved(f"{fname} (from {c.qname})")

    def _eval_field(self, k: JClass, fname: str) -> Any:
        key = (k.qname, fname)
        if key in self._const_cache:
            return self._const_cache[key]
        if key in self._in_progress:
            raise Unresolved(f"cyclic constant {k.qname}.{fname}")
        _, init, _ = k.fields[fname]
        if init is None:
            raise Unresolved(f"{k.qname}.{fname} has no initializer")
        self._in_progress.add(key)
        try:
            val = self.eval(init, k)
        finally:
            self._in_progress.discard(key)
        self._const_cache[key] = val
        return val

    def eval(self, node: Any, ctx: JClass) -> Any:
        src = ctx.src
        t = node.type
        if t == "string_literal":
            return _java_string(_text(node, src))
        if t in ("decimal_integer_literal", "hex_integer_literal", "octal_integer_literal",
                 "binary_integer_literal"):
            txt = _text(node, src).replace("_", "").rstrip("lL")
            return int(txt, 0) if not txt.startswith("0") or txt.lower().startswith(("0x", "0b")) \
                or txt == "0" else int(txt, 8)
        if t in ("decimal_floating_point_literal",):
            return float(_text(node, src).replace("_", "").rstrip("dDfF"))
        if t == "true":
            return True
        if t == "false":
            return False
        if t == "null_literal":
            return None
        if t == "character_literal":
            return _java_string(_text(node, src))
        if t == "parenthesized_expression":
            return self.eval(node.named_children[0], ctx)
        if t == "class_literal":
            return ClassRef(_type_name(node.named_children[0], src))
        if t == "identifier":
            return self.field_value(ctx, _text(node, src))
        if t == "field_access":
            obj = node.child_by_field_name("object")
            fname = _text(node.child_by_field_name("field"), src)
            k = self.resolve_class(_text(obj, src), ctx)
            if k is None:
                raise Unresolved(f"{_text(node, src)} in {ctx.qname}")
            if fname in k.enum_constants:
                return EnumConst(k.name, fname)
            return self.field_value(k, fname)
        if t == "unary_expression":
            op = _text(node.child_by_field_name("operator"), src)
            v = self.eval(node.child_by_field_name("operand"), ctx)
            if op == "-":
                return -v
            if op == "+":
                return v
            if op == "!":
                return not v
            raise Unresolved(f"unary {op}")
        if t == "binary_expression":
            op = _text(node.child_by_field_name("operator"), src)
            a = self.eval(node.child_by_field_name("left"), ctx)
            b = self.eval(node.child_by_field_name("right"), ctx)
            if op == "+":
                if isinstance(a, str) or isinstance(b, str):
                    return _jstr(a) + _jstr(b)
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                return a // b if isinstance(a, int) and isinstance(b, int) else a / b
            if op == "|":
                return a | b
            raise Unresolved(f"binary {op}")
        if t == "method_invocation":
            # the immutable collections of constants GAMA's compiler keeps its tables in
            obj = node.child_by_field_name("object")
            meth = _text(node.child_by_field_name("name"), src)
            args = [self.eval(a, ctx) for a in node.child_by_field_name("arguments").named_children]
            owner = _text(obj, src) if obj is not None else ""
            if owner == "Map" and meth == "of" and len(args) % 2 == 0:
                return {args[i]: args[i + 1] for i in range(0, len(args), 2)}
            if owner in ("Set", "List") and meth == "of":
                return args
            raise Unresolved(f"call {owner}.{meth}")
        if t == "cast_expression":
            return self.eval(node.child_by_field_name("value"), ctx)
        if t == "element_value_array_initializer" or t == "array_initializer":
            return [self.eval(c, ctx) for c in node.named_children if c.type not in ("comment", "line_comment",
                                                                                       "block_comment")]
        if t in ("annotation", "marker_annotation"):
            return self.annotation(node, ctx)
        raise Unresolved(f"{t}: {_text(node, src)[:60]}")

    def annotation(self, ann: Any, ctx: JClass) -> Annotation:
        """An annotation's values (documentation-only elements skipped)."""
        src = ctx.src
        values: dict[str, Any] = {}
        args = ann.child_by_field_name("arguments")
        if args is not None:
            for a in args.named_children:
                if a.type == "element_value_pair":
                    key = _text(a.child_by_field_name("key"), src)
                    if key in DOC_ONLY_KEYS:
                        continue
                    values[key] = self.eval_or_mark(a.child_by_field_name("value"), ctx)
                elif a.type not in ("line_comment", "block_comment", "comment"):
                    values["value"] = self.eval_or_mark(a, ctx)
        return Annotation(_ann_name(ann, src), values)

    def eval_or_mark(self, node: Any, ctx: JClass) -> Any:
        try:
            return self.eval(node, ctx)
        except Unresolved as exc:
            if node.type in ("element_value_array_initializer", "array_initializer"):
                out = []
                for c in node.named_children:
                    if c.type in ("line_comment", "block_comment", "comment"):
                        continue
                    out.append(self.eval_or_mark(c, ctx))
                return out
            self.unresolved.append(f"{ctx.path}:{node.start_point[0] + 1}: {exc}")
            return UNRESOLVED


UNRESOLVED = object()
# annotation elements that only document (never read into the catalogue)
DOC_ONLY_KEYS = {"doc", "concept", "usages", "examples", "see", "comment", "special_cases", "masterDoc",
                 "deprecated", "init", "depends_on", "expected_content_type", "category_doc"}
# the GAMA annotations the catalogue reads
READ_ANNOTATIONS = {"symbol", "facets", "facet", "inside", "operator", "vars", "variable", "skill", "action",
                    "arg", "type", "constant", "species", "file", "display", "experiment"}


def _jstr(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, EnumConst):
        return v.name
    return str(v)


def _java_string(lit: str) -> str:
    if lit.startswith('"""'):
        body = lit[3:-3]
    else:
        body = lit[1:-1]
    out, i = [], 0
    esc = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0", "s": " ", "\\": "\\", "'": "'",
           '"': '"'}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nx = body[i + 1]
            if nx == "u":
                j = i + 1
                while j < len(body) and body[j] == "u":
                    j += 1
                out.append(chr(int(body[j:j + 4], 16)))
                i = j + 4
                continue
            out.append(esc.get(nx, nx))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


# --------------------------------------------------------------------------------------------------
# extraction
# --------------------------------------------------------------------------------------------------
class Extractor:
    def __init__(self, model: Model, plugin_of: dict[str, str]) -> None:
        self.m = model
        self.plugin_of = plugin_of
        self.unread: list[str] = []
        self.anns: dict[str, list[Annotation]] = {}
        self._ann_cache: dict[int, list[Annotation]] = {}

    def anns_of(self, nodes: list[Any], ctx: JClass) -> list[Annotation]:
        return [self.m.annotation(a, ctx) for a in nodes if _ann_name(a, ctx.src) in READ_ANNOTATIONS]

    def class_anns(self, c: JClass) -> dict[str, Annotation]:
        key = id(c)
        if key not in self._ann_cache:
            self._ann_cache[key] = self.anns_of(c.annotations, c)
        return {a.name: a for a in self._ann_cache[key]}

    def inherited(self, c: JClass, name: str) -> Annotation | None:
        """An @Inherited class annotation: the class's own, else its nearest superclass's."""
        for k in [c, *self.m.superclass_chain(c)]:
            a = self.class_anns(k).get(name)
            if a is not None:
                return a
        return None

    # -- types
    def type_tables(self) -> tuple[dict[str, Any], dict[int, str], dict[str, str]]:
        types: dict[str, Any] = {}
        by_id: dict[int, str] = {}
        wraps: dict[str, str] = {}  # java simple class name -> gaml type
        for c in self.all_classes():
            a = self.class_anns(c).get("type")
            if a is None or not isinstance(a.get("name"), str):
                continue
            name, tid = a.get("name"), a.get("id")
            tid = tid if isinstance(tid, int) else None
            wrapped = sorted(w.name for w in _list(a.get("wraps")) if isinstance(w, ClassRef))
            parametric = self.m.is_subtype(c, "GamaContainerType")
            kind = a.get("kind")
            types[name] = {"id": tid, "parametric": parametric, "wraps": wrapped,
                           "kind": kind.name if isinstance(kind, EnumConst) else "REGULAR",
                           "source": self.src_of(c)}
            if tid is not None:
                by_id[tid] = name
            for w in wrapped:
                wraps.setdefault(w, name)
        for tid, n in SPECIAL_TYPE_IDS.items():
            by_id[tid] = n
        return types, by_id, wraps

    def src_of(self, c: JClass) -> str:
        """The plugin (top-level folder, or ``onnx``) a class comes from."""
        return self.plugin_of.get(c.path, c.path.split("/")[0])

    def all_classes(self) -> Iterator[JClass]:
        """The classes of the processed plugins (not of the library ones)."""
        for u in self.m.units:
            if u.path in self.plugin_of:
                yield from u.classes

    def gaml_type_of_java(self, jname: str, ctx: JClass | None, wraps: dict[str, str]) -> str:
        if jname in JAVA_TO_GAML:
            return JAVA_TO_GAML[jname]
        if jname in wraps:
            return wraps[jname]
        c = self.m.resolve_class(jname, ctx)
        if c is not None:
            for s in self.m.supertypes(c):
                if s.name in wraps:
                    return wraps[s.name]
        return "unknown"

    def tname(self, tid: Any, by_id: dict[int, str]) -> str:
        if isinstance(tid, int):
            # negative ids other than the special facet ones are ITypeProvider codes (a type computed
            # from the context, e.g. MACRO_TYPE for `host`): unknown to a static catalogue
            return by_id.get(tid, "unknown" if tid < 0 else f"type_{tid}")
        return "unknown"

    def run(self) -> dict[str, Any]:
        types, by_id, wraps = self.type_tables()
        self.by_id, self.wraps = by_id, wraps
        out: dict[str, Any] = {"types": types}
        out["operators"] = self.operators()
        self.files(out)
        out["statements"] = self.statements()
        out["declarations"] = self.declarations
        out["skills"] = self.skills()
        out["builtin_attributes"], out["builtin_actions"] = self.species(out["skills"])
        out["type_attributes"] = self.type_attributes(types)
        out["constants"] = self.constants()
        out["symbol_kinds"] = self.symbol_kinds()
        out["keyword_conversions"] = self.keyword_conversions()
        out["reserved_names"] = self.table("Assert", "RESERVED")
        out["experiment_types"] = sorted({a.get("value") for c in self.all_classes()
                                          for a in [self.class_anns(c).get("experiment")]
                                          if a is not None and isinstance(a.get("value"), str)})
        out["display_types"] = sorted({v for c in self.all_classes()
                                       for a in [self.class_anns(c).get("display")] if a is not None
                                       for v in _list(a.get("value")) if isinstance(v, str)})
        return out

    # -- operators
    def operators(self) -> dict[str, Any]:
        ops: dict[str, dict[str, Any]] = {}
        for c in self.all_classes():
            for meth in c.methods:
                for a in self.anns_of(meth["annotations"], c):
                    if a.name != "operator":
                        continue
                    names = [n for n in _list(a.get("value")) if isinstance(n, str)] or [meth["name"]]
                    params = meth["params"]
                    has_scope = bool(params) and "IScope" in params[0]
                    n = len(params) - (1 if has_scope else 0) + (0 if "static" in meth["modifiers"] else 1)
                    operands = list(params[1:] if has_scope else params)
                    if a.get("iterator") and operands and operands[0] == "String":
                        n -= 1  # the iterator variable's name, which GAMA's compiler injects
                        operands = operands[1:]
                    if "static" not in meth["modifiers"]:
                        operands = [c.name, *operands]
                    sig_args = [self.gaml_type_of_java(p, c, self.wraps) for p in operands]
                    explicit = a.get("type")
                    if isinstance(explicit, int) and explicit in self.by_id and explicit >= 0:
                        ret = self.by_id[explicit]
                    else:
                        ret = self.gaml_type_of_java(meth["returns"], c, self.wraps)
                    for name in names:
                        e = ops.setdefault(name, {"arities": set(), "returns": set(), "iterator": False,
                                                  "sources": set(), "signatures": set()})
                        e["arities"].add(n)
                        e["signatures"].add((tuple(sig_args), ret))
                        e["returns"].add(ret)
                        e["iterator"] |= bool(a.get("iterator", False))
                        e["sources"].add(self.src_of(c))
        for e in ops.values():
            e["signatures"] = [{"args": list(a), "returns": r} for a, r in sorted(e["signatures"])]
        return {k: _freeze(v) for k, v in ops.items()}

    def files(self, out: dict[str, Any]) -> None:
        for c in self.all_classes():
            a = self.class_anns(c).get("file")
            if a is None or not isinstance(a.get("name"), str):
                continue
            name = a.get("name")
            tname = name + "_file"
            arities = {1}
            for ctor in c.constructors:
                ps = ctor["params"]
                if len(ps) > 1 and "IScope" in ps[0]:
                    arities.add(len(ps) - 1)
            src = self.src_of(c)
            sigs = {(("string",), tname)}
            for ctor in c.constructors:
                ps = ctor["params"]
                if len(ps) > 1 and "IScope" in ps[0]:
                    sigs.add((tuple(self.gaml_type_of_java(p, c, self.wraps) for p in ps[1:]), tname))
            out["operators"][tname] = {"arities": sorted(arities), "returns": [tname], "iterator": False,
                                       "sources": [src],
                                       "signatures": [{"args": list(a), "returns": r} for a, r in sorted(sigs)]}
            out["operators"]["is_" + name] = {"arities": [1], "returns": ["bool"], "iterator": False,
                                              "sources": [src],
                                              "signatures": [{"args": ["unknown"], "returns": "bool"}]}
            out["types"][tname] = {"id": None, "parametric": True, "wraps": [c.name], "source": src, "kind": "REGULAR",
                                   "extensions": sorted(x for x in _list(a.get("extensions"))
                                                        if isinstance(x, str))}

    # -- statements
    def statements(self) -> dict[str, Any]:
        variants: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.declarations: dict[str, Any] = {}
        for c in sorted(self.all_classes(), key=lambda c: (c.path, c.qname)):
            sym = self.class_anns(c).get("symbol")
            if sym is None:
                continue
            facets_ann = self.inherited(c, "facets")
            inside = self.inherited(c, "inside")
            facets: dict[str, Any] = {}
            if facets_ann is not None:
                for f in _list(facets_ann.get("value")):
                    if not isinstance(f, Annotation) or not isinstance(f.get("name"), str):
                        continue
                    entry: dict[str, Any] = {
                        "types": sorted({self.tname(t, self.by_id) for t in _list(f.get("type"))}),
                        "optional": bool(f.get("optional", False)),
                    }
                    vals = [v for v in _list(f.get("values")) if isinstance(v, str)]
                    if vals:
                        entry["values"] = sorted(vals)
                    if f.get("internal"):
                        entry["internal"] = True
                    if f.get("remote_context"):
                        entry["remote_context"] = True
                    facets[f.get("name")] = entry
            omissible = facets_ann.get("omissible", "name") if facets_ann is not None else "name"
            kinds = [k.name for k in _list(inside.get("kinds")) if isinstance(k, EnumConst)] if inside is not None else []
            syms = [s for s in _list(inside.get("symbols")) if isinstance(s, str)] if inside is not None else []
            kind = sym.get("kind")
            entry = {
                "facets": facets,
                "omissible": omissible if isinstance(omissible, str) and omissible in facets else None,
                "kind": kind.name if isinstance(kind, EnumConst) else None,
                "with_sequence": bool(sym.get("with_sequence", False)),
                "remote_context": bool(sym.get("remote_context", False)),
                "args": bool(sym.get("with_args", False)),
                "in_kinds": sorted(set(kinds)),
                "in_symbols": sorted(set(syms)),
                "in": sorted(set(kinds) | set(syms)),
                "unique_in_context": bool(sym.get("unique_in_context", False)),
                "unique_name": bool(sym.get("unique_name", False)),
                "breakable": bool(sym.get("breakable", False)),
                "continuable": bool(sym.get("continuable", False)),
                "internal": bool(sym.get("internal", False)),
                "java_class": c.qname,
                "source": self.src_of(c),
            }
            names = [n for n in _list(sym.get("name")) if isinstance(n, str)]
            if not names and entry["kind"]:
                # a nameless symbol: the declarations whose keyword is a type name (`int x <- 0;`),
                # keyed by the ISymbolKind that each type's @type(kind=...) selects
                self.declarations[entry["kind"]] = entry
            for name in names:
                variants[name].append(entry)
        out: dict[str, Any] = {}
        for name, vs in variants.items():
            if len(vs) == 1:
                out[name] = dict(vs[0])
                continue
            merged = dict(vs[0])
            facets: dict[str, Any] = {}
            for v in vs:
                for fname, f in v["facets"].items():
                    g = facets.setdefault(fname, {"types": [], "optional": True})
                    g["types"] = sorted(set(g["types"]) | set(f["types"]))
            for fname, g in facets.items():  # required only where every variant requires it
                g["optional"] = any(fname not in w["facets"] or w["facets"][fname]["optional"] for w in vs)
            merged["facets"] = facets
            for key in ("in", "in_kinds", "in_symbols"):
                merged[key] = sorted(set().union(*(v[key] for v in vs)))
            for key in ("with_sequence", "remote_context", "args"):
                merged[key] = any(v[key] for v in vs)
            merged["kinds"] = sorted({v["kind"] for v in vs if v["kind"]})
            merged["variants"] = vs
            out[name] = merged
        for e in out.values():
            e.setdefault("kinds", [e["kind"]] if e["kind"] else [])
        return out

    # -- skills and species
    def additions(self, classes: list[JClass]) -> tuple[dict[str, str], dict[str, Any]]:
        attrs: dict[str, str] = {}
        actions: dict[str, Any] = {}
        for k in classes:
            v = self.class_anns(k).get("vars")
            if v is not None and not self.m.is_subtype(k, "IVarAndActionSupport"):
                v = None  # a type's fields (gama.processor's _field), not agent attributes (_var)
            for var in _list(v.get("value")) if v is not None else []:
                if isinstance(var, Annotation) and isinstance(var.get("name"), str):
                    attrs.setdefault(var.get("name"), self.tname(var.get("type"), self.by_id))
            for meth in k.methods:
                for a in self.anns_of(meth["annotations"], k):
                    if a.name != "action" or not isinstance(a.get("name"), str):
                        continue
                    args = {}
                    for arg in _list(a.get("args")):
                        if isinstance(arg, Annotation) and isinstance(arg.get("name"), str):
                            args[arg.get("name")] = {"type": self.tname(arg.get("type", 0), self.by_id),
                                                     "optional": bool(arg.get("optional", True))}
                    actions.setdefault(a.get("name"), {
                        "args": args, "returns": self.gaml_type_of_java(meth["returns"], k, self.wraps)})
        return attrs, actions

    def implementation(self, c: JClass, extra: Iterable[JClass] = ()) -> list[JClass]:
        """The class, its superclasses and interfaces (and those of ``extra``), most general first."""
        seen: dict[str, JClass] = {}
        for base in [c, *extra]:
            for k in [base, *self.m.supertypes(base)]:
                seen.setdefault(k.qname, k)
        # own declarations win: iterate from the most specific, setdefault keeps the first
        return list(seen.values())

    def skills(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.skill_classes: dict[str, JClass] = {}
        for c in sorted(self.all_classes(), key=lambda c: c.path):
            a = self.class_anns(c).get("skill")
            if a is None or not isinstance(a.get("name"), str):
                continue
            attrs, actions = self.additions(self.implementation(c))
            self.skill_classes[a.get("name")] = c
            out[a.get("name")] = {
                "attributes": attrs, "actions": actions,
                "attach_to": sorted(x for x in _list(a.get("attach_to")) if isinstance(x, str)),
                "control": self.m.is_subtype(c, "AbstractArchitecture"),
                "internal": bool(a.get("internal", False)),
                "source": self.src_of(c),
            }
        return out

    def species(self, skills: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        attrs_out: dict[str, Any] = {}
        acts_out: dict[str, Any] = {}
        for c in sorted(self.all_classes(), key=lambda c: c.path):
            a = self.class_anns(c).get("species")
            if a is None or not isinstance(a.get("name"), str):
                continue
            sk = [self.skill_classes[s] for s in _list(a.get("skills")) if s in self.skill_classes]
            attrs, actions = self.additions(self.implementation(c, sk))
            attrs_out[a.get("name")], acts_out[a.get("name")] = attrs, actions
        # the grid statement's species: an agent with the grid skill; `global` is the model
        grid_skill = next((n for n, s in skills.items() if n == "grid"), None)
        if "agent" in attrs_out and grid_skill:
            attrs_out["grid"] = {**attrs_out["agent"], **skills[grid_skill]["attributes"]}
            acts_out["grid"] = {**acts_out["agent"], **skills[grid_skill]["actions"]}
        if "model" in attrs_out:
            attrs_out["global"], acts_out["global"] = attrs_out["model"], acts_out["model"]
        return attrs_out, acts_out

    def type_attributes(self, types: dict[str, Any]) -> dict[str, Any]:
        """@vars on classes that are neither agents nor skills: the fields of the types wrapping them."""
        holders = [c for c in self.all_classes() if "vars" in self.class_anns(c)
                   and not self.m.is_subtype(c, "IVarAndActionSupport")]
        holder_names = {c.name for c in holders}
        out: dict[str, Any] = {}
        for tname, t in types.items():
            fields: dict[str, str] = {}
            for w in t.get("wraps", []):
                wc = self.m.resolve_class(w, None)
                if wc is None:
                    continue
                for k in self.implementation(wc):
                    if k.name not in holder_names:
                        continue
                    for var in _list(self.class_anns(k)["vars"].get("value")):
                        if isinstance(var, Annotation) and isinstance(var.get("name"), str):
                            fields.setdefault(var.get("name"), self.tname(var.get("type"), self.by_id))
            if fields:
                out[tname] = fields
        return out

    # -- constants
    def constants(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for c in sorted(self.all_classes(), key=lambda c: c.path):
            for fname, (ftype, _init, anns) in c.fields.items():
                for a in self.anns_of(anns, c):
                    if a.name != "constant" or not isinstance(a.get("value"), str):
                        continue
                    cats = sorted(x for x in _list(a.get("category")) if isinstance(x, str))
                    jt = _type_name(ftype, c.src)
                    gt = self.gaml_type_of_java(jt, c, self.wraps)
                    entry = {"type": gt, "unit": bool(set(cats) & UNIT_CATEGORIES), "category": cats,
                             "source": self.src_of(c)}
                    out.setdefault(a.get("value"), entry)
                    for alt in _list(a.get("altNames")):
                        if isinstance(alt, str):
                            out.setdefault(alt, {**entry, "alias_of": a.get("value")})
        # CSS colours (CoreConstantsSupplier registers every name of ColorCSS.array)
        css = self.m.by_simple.get("ColorCSS", [])
        for c in css:
            if "array" in c.fields:
                init = c.fields["array"][1]
                for i, item in enumerate(init.named_children if init is not None else []):
                    if i % 2 == 0 and item.type == "string_literal":
                        out.setdefault(_java_string(_text(item, c.src)),
                                       {"type": "rgb", "unit": False, "category": ["Colors"],
                                        "source": self.src_of(c)})
        # names the IConstantsSupplier classes accept literally: acceptor.accept("name", value, ...)
        for c in self.all_classes():
            if not self.m.is_subtype(c, "IConstantsSupplier") or c.kind != "class":
                continue
            for inv in _walk(c.node, "method_invocation"):
                if _text(inv.child_by_field_name("name"), c.src) != "accept":
                    continue
                args = inv.child_by_field_name("arguments")
                if args is None or len(args.named_children) < 2:
                    continue
                try:
                    name = self.m.eval(args.named_children[0], c)
                except Unresolved:
                    continue  # a computed name (the CSS loop is read from ColorCSS above)
                try:
                    val = self.m.eval(args.named_children[1], c)
                    gt = "string" if isinstance(val, str) else "float" if isinstance(val, float) else \
                        "int" if isinstance(val, int) and not isinstance(val, bool) else "unknown"
                except Unresolved:  # a value computed at run time: the type of the local it is held in
                    gt = self.local_type(inv, args.named_children[1], c)
                if isinstance(name, str):
                    out.setdefault(name, {"type": gt, "unit": False, "category": [],
                                          "source": self.src_of(c)})
        return out

    def table(self, cls: str, fname: str) -> list[Any]:
        """A constant collection field (``Set.of(...)``) of the class named ``cls``, sorted."""
        for c in self.m.by_simple.get(cls, []):
            if fname in c.fields:
                try:
                    return sorted(self.m.field_value(c, fname))
                except Unresolved as exc:
                    self.m.unresolved.append(f"{c.path}: {cls}.{fname}: {exc}")
                    return []
        self.m.unresolved.append(f"{cls}.{fname} not found")
        return []

    def keyword_conversions(self) -> dict[str, Any]:
        """GamlSyntacticConverter's renaming of keywords by their parent (``species`` in a display is
        ``species_layer``): its KEYWORD_CONVERSIONS map, applied inside the DISPLAY_UPPER keywords."""
        for c in self.m.by_simple.get("GamlSyntacticConverter", []):
            if {"KEYWORD_CONVERSIONS", "DISPLAY_UPPER"} <= c.fields.keys():
                try:
                    conv = self.m.field_value(c, "KEYWORD_CONVERSIONS")
                    upper = self.m.field_value(c, "DISPLAY_UPPER")
                except Unresolved as exc:
                    self.m.unresolved.append(f"{c.path}: keyword conversions: {exc}")
                    return {}
                return {"map": dict(sorted(conv.items())), "inside": sorted(upper), "java_class": c.qname}
        self.m.unresolved.append("GamlSyntacticConverter (KEYWORD_CONVERSIONS, DISPLAY_UPPER) not found")
        return {}

    def local_type(self, at: Any, value: Any, c: JClass) -> str:
        """The GAML type of a local variable ``value`` (an identifier) declared in the method around ``at``."""
        if value.type != "identifier":
            return "unknown"
        name = _text(value, c.src)
        meth = at.parent
        while meth is not None and meth.type not in ("method_declaration", "constructor_declaration"):
            meth = meth.parent
        for decl in _walk(meth, "local_variable_declaration") if meth is not None else []:
            for d in decl.children_by_field_name("declarator"):
                if _text(d.child_by_field_name("name"), c.src) == name:
                    return self.gaml_type_of_java(_type_name(decl.child_by_field_name("type"), c.src), c,
                                                  self.wraps)
        return "unknown"

    def symbol_kinds(self) -> dict[str, int]:
        for c in self.m.by_simple.get("ISymbolKind", []):
            out = {}
            body = c.node.child_by_field_name("body")
            for ec in body.named_children:
                if ec.type == "enum_constant":
                    args = ec.child_by_field_name("arguments")
                    if args is not None and args.named_children:
                        out[_text(ec.child_by_field_name("name"), c.src)] = self.m.eval(args.named_children[0], c)
            return out
        return {}


def _walk(node: Any, type_: str) -> Iterator[Any]:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == type_:
            yield n
        stack.extend(n.children)


def _errors(node: Any) -> Iterator[Any]:
    for n in _walk(node, "ERROR"):
        yield n
    stack = [node]
    while stack:
        n = stack.pop()
        if n.is_missing:
            yield n
        stack.extend(n.children)


def _within(node: Any, types: tuple[str, ...]) -> bool:
    p = node.parent
    while p is not None:
        if p.type in types:
            return True
        p = p.parent
    return False


def _freeze(v: Any) -> Any:
    if isinstance(v, set):
        return sorted(v)
    if isinstance(v, dict):
        return {k: _freeze(x) for k, x in v.items()}
    return v


# --------------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------------
def _parser() -> Any:
    try:
        import tree_sitter
        import tree_sitter_java
    except ImportError as exc:  # pragma: no cover - reported as a usage error
        raise SystemExit(f"error: tree-sitter and tree-sitter-java are needed ({exc}); "
                         "pip install tree-sitter tree-sitter-java") from None
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_java.language()))


def extract(source: GitSource | DirSource, onnx_src: Path | None = None,
            onnx_commit: str | None = None) -> dict[str, Any]:
    """Read every processed Java file of ``source`` and return the catalogue."""
    parser = _parser()
    listing = source.list_files()
    files = processed_java_files(listing)
    library = library_java_files(listing)
    units, lib_units, unread, plugin_of = [], [], [], {}
    for path, data, reason in source.read_many(library):
        if data is not None:
            lib_units.append(build_unit(path, data, parser.parse(data)))
        else:
            unread.append(f"{path}: {reason}")
    for path, data, reason in source.read_many(files):
        plugin_of[path] = path.split("/")[0]
        if data is None:
            unread.append(f"{path}: {reason}")
            continue
        tree = parser.parse(data)
        if tree.root_node.has_error:
            for bad in _errors(tree.root_node):
                where = "inside a method body" if _within(bad, ("method_declaration", "constructor_declaration")) \
                    else "outside method bodies"
                unread.append(f"{path}:{bad.start_point[0] + 1}: tree-sitter-java cannot parse "
                              f"{data[bad.start_byte:bad.end_byte][:40].decode('utf-8', 'replace')!r} "
                              f"({where}); the rest of the file was read")
        units.append(build_unit(path, data, tree))
    onnx_units = []
    if onnx_src is not None:
        for p in sorted(onnx_src.rglob("*.java")):
            data = p.read_bytes()
            rel = "onnx:" + str(p.relative_to(onnx_src))
            plugin_of[rel] = "onnx"
            onnx_units.append(build_unit(rel, data, parser.parse(data)))
    model = Model(lib_units + units + onnx_units)
    ex = Extractor(model, plugin_of)
    cat = ex.run()
    if onnx_src is None:
        merge_onnx_table(cat)
    cat["gama_commit"] = source.commit
    cat["onnx_plugin_commit"] = ONNX_PLUGIN_COMMIT if onnx_src is None else DirSource(onnx_src, onnx_commit).commit
    cat["generated_by"] = GENERATED_BY
    cat["onnx"] = ("the table ONNX_PLUGIN of the script, read from gama-platform-plugins/gama.plugin.onnx "
                   "at onnx_plugin_commit" if onnx_src is None else "read from the plugin's annotations")
    cat["sources"] = {"java_files": len(files), "read": len(units),
                      "plugins": sorted({p.split('/')[0] for p in files})}
    cat["unread"] = sorted(set(unread)) + sorted(set(model.unresolved))
    return cat


def merge_onnx_table(cat: dict[str, Any]) -> None:
    for name, overloads in ONNX_PLUGIN["operators"].items():
        cat["operators"][name] = {
            "arities": sorted({len(a) for a, _ in overloads}), "returns": sorted({r for _, r in overloads}),
            "iterator": False, "sources": ["onnx"],
            "signatures": [{"args": list(a), "returns": r} for a, r in sorted(overloads)]}
    for name, t in ONNX_PLUGIN["types"].items():
        cat["types"][name] = {**t, "wraps": [], "source": "onnx", "kind": "REGULAR"}
    for name, attrs in ONNX_PLUGIN["type_attributes"].items():
        cat["type_attributes"][name] = dict(attrs)


def render(cat: dict[str, Any]) -> str:
    return json.dumps(cat, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR, help="bare git mirror of gama-platform/gama")
    ap.add_argument("--rev", default="HEAD", help="commit of the mirror to read (default HEAD)")
    ap.add_argument("--gama-src", type=Path, help="a checkout of gama-platform/gama instead of the mirror")
    ap.add_argument("--gama-commit", help="the commit of --gama-src when it is not a git work tree")
    ap.add_argument("--onnx-src", type=Path, help="a checkout of gama.plugin.onnx (else the built-in table)")
    ap.add_argument("--onnx-commit", help="the commit of --onnx-src when it is not a git work tree")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="catalogue to write or check")
    ap.add_argument("--check", action="store_true", help="compare a regenerated catalogue with --out")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        if args.gama_src is not None:
            if not args.gama_src.is_dir():
                print(f"error: --gama-src {args.gama_src} is not a folder", file=sys.stderr)
                return 2
            source: GitSource | DirSource = DirSource(args.gama_src, args.gama_commit)
        else:
            if not (args.mirror / "HEAD").is_file() and not (args.mirror / ".git").exists():
                print(f"error: no git repository at --mirror {args.mirror}", file=sys.stderr)
                return 2
            source = GitSource(args.mirror, args.rev)
        if args.onnx_src is not None and not args.onnx_src.is_dir():
            print(f"error: --onnx-src {args.onnx_src} is not a folder", file=sys.stderr)
            return 2
        cat = extract(source, args.onnx_src, args.onnx_commit)
    except subprocess.CalledProcessError as exc:
        print(f"error: git failed: {exc.stderr.decode('utf-8', 'replace').strip()}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    text = render(cat)
    if args.check:
        try:
            shipped = args.out.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot read {args.out}: {exc}", file=sys.stderr)
            return 2
        if shipped == text:
            print(f"{args.out}: up to date (GAMA {cat['gama_commit'][:9]})")
            return 0
        old = json.loads(shipped)
        diff = sorted(k for k in set(old) | set(cat) if old.get(k) != cat.get(k))
        print(f"{args.out}: differs from a regenerated catalogue in: {', '.join(diff)}")
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    counts = ", ".join(f"{k} {len(cat[k])}" for k in ("statements", "operators", "types", "skills",
                                                      "builtin_attributes", "constants"))
    print(f"wrote {args.out}: {counts}; {len(cat['unread'])} unread item(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
