"""Which AWS operations a Lambda handler's code can call, read from the source.

The functions' IAM policies in template.yaml must match what the code does
(tests/infra/test_policies.py). This module finds that out with ``ast``, no
import and no AWS:

1. Adapters are the classes with a ``SERVICE = "<boto3 service>"`` attribute.
   Inside their methods, a call ``<anything>.<name>(...)`` whose name is an
   operation of that service's botocore model is an AWS call; so is a string
   literal naming an operation in a class that uses ``get_paginator`` or
   ``getattr`` (the operation may be passed down as an argument).
2. From the handler's ``lambda_handler`` the code is followed through the
   project's functions and methods: names resolved through the imports, and
   method calls resolved through the receiver's type where annotations
   (other than a Protocol, which stands for any implementation),
   dataclass fields, ``self.x = param`` assignments or constructor calls tell
   it. A method call on a receiver of unknown type, or typed by a Protocol
   (credreports.ports: the logic's view of an adapter), counts every project
   method of that name (except names that are also methods of dict, list, str, set,
   which would match everything), so a gap in the inference can only make the
   result larger, and a larger result fails the test loudly.
3. Operations become IAM actions through botocore's service model (signing
   name + operation name), except where IAM authorises an operation under
   another action (``OPERATION_ACTIONS``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name

# Operations that IAM authorises under other action names.
OPERATION_ACTIONS: dict[tuple[str, str], frozenset[str]] = {
    ("sqs", "SendMessageBatch"): frozenset({"sqs:SendMessage"}),
    ("sqs", "DeleteMessageBatch"): frozenset({"sqs:DeleteMessage"}),
    ("sqs", "ChangeMessageVisibilityBatch"): frozenset({"sqs:ChangeMessageVisibility"}),
    # HeadObject is authorised by GetObject; for a key that does not exist S3
    # answers 403 instead of 404 unless the caller may also ListBucket, so a
    # code path that asks "does it exist?" needs both.
    ("s3", "HeadObject"): frozenset({"s3:GetObject", "s3:ListBucket"}),
    ("s3", "ListObjectsV2"): frozenset({"s3:ListBucket"}),
    ("s3", "ListObjects"): frozenset({"s3:ListBucket"}),
    ("s3", "HeadBucket"): frozenset({"s3:ListBucket"}),
    ("s3", "DeleteObjects"): frozenset({"s3:DeleteObject"}),
}

# Method names of builtin containers and strings: a call of one of these on a
# receiver of unknown type is not taken for a project method of the same name.
_BUILTIN_METHODS = frozenset(
    name
    for kind in (dict, list, str, set, bytes, tuple, frozenset)
    for name in dir(kind)
    if not name.startswith("_")
)


@dataclass
class ClassInfo:
    module: str
    name: str
    node: ast.ClassDef
    methods: dict[str, ast.FunctionDef] = field(default_factory=dict)
    # attribute name -> annotation expression (evaluated in the class's module)
    attributes: dict[str, ast.expr] = field(default_factory=dict)
    service: str | None = None
    # A typing.Protocol: its methods are stubs, the implementations are elsewhere.
    is_protocol: bool = False

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass
class ModuleInfo:
    name: str
    tree: ast.Module
    # local name -> fully qualified name (module, or module.symbol)
    imports: dict[str, str] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """What one handler's code calls."""

    # (service, OperationName) pairs, e.g. ("sqs", "SendMessageBatch")
    operations: frozenset[tuple[str, str]]

    def actions(self, services: Iterable[str] | None = None) -> frozenset[str]:
        """IAM actions of the operations, optionally only of ``services``."""
        wanted = None if services is None else set(services)
        return frozenset(
            action
            for service, operation in self.operations
            if wanted is None or service in wanted
            for action in iam_actions(service, operation)
        )


def iam_actions(service: str, operation: str) -> frozenset[str]:
    if (service, operation) in OPERATION_ACTIONS:
        return OPERATION_ACTIONS[(service, operation)]
    return frozenset({f"{_signing_name(service)}:{operation}"})


@cache
def _service_operations(service: str) -> dict[str, str]:
    """snake_case method name -> OperationName, from botocore's model."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


@cache
def _signing_name(service: str) -> str:
    model = botocore.session.get_session().get_service_model(service)
    return str(model.signing_name or model.endpoint_prefix)


class Project:
    """The Python sources under ``src_dir``, indexed for the analysis."""

    def __init__(self, src_dir: Path) -> None:
        self.modules: dict[str, ModuleInfo] = {}
        for path in sorted(src_dir.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(src_dir).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            name = ".".join(parts)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            self.modules[name] = self._index(name, tree, is_package)

    # ----------------------------------------------------------- indexing
    def _index(self, name: str, tree: ast.Module, is_package: bool) -> ModuleInfo:
        info = ModuleInfo(name=name, tree=tree)
        package = name if is_package else name.rpartition(".")[0]
        for node in tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        info.imports[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        info.imports[top] = top
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    info.imports[alias.asname or alias.name] = f"{base}.{alias.name}"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                info.functions[node.name] = node  # type: ignore[assignment]
            elif isinstance(node, ast.ClassDef):
                info.classes[node.name] = self._index_class(name, node)
        return info

    @staticmethod
    def _index_class(module: str, node: ast.ClassDef) -> ClassInfo:
        info = ClassInfo(module=module, name=node.name, node=node)
        info.is_protocol = any(
            (isinstance(base, ast.Name) and base.id == "Protocol")
            or (isinstance(base, ast.Attribute) and base.attr == "Protocol")
            for base in node.bases
        )
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                info.methods[item.name] = item  # type: ignore[assignment]
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                info.attributes[item.target.id] = item.annotation
            elif (
                isinstance(item, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "SERVICE" for t in item.targets)
                and isinstance(item.value, ast.Constant)
                and isinstance(item.value.value, str)
            ):
                info.service = item.value.value
        # self.x: T = ... and self.x = <annotated parameter> in any method
        for method in info.methods.values():
            annotations = {
                a.arg: a.annotation for a in _arguments(method) if a.annotation is not None
            }
            for statement in ast.walk(method):
                if isinstance(statement, ast.AnnAssign) and _is_self_attribute(statement.target):
                    info.attributes.setdefault(statement.target.attr, statement.annotation)  # type: ignore[union-attr]
                elif isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Name):
                    annotation = annotations.get(statement.value.id)
                    for target in statement.targets:
                        if annotation is not None and _is_self_attribute(target):
                            info.attributes.setdefault(target.attr, annotation)  # type: ignore[attr-defined]
        return info

    # ---------------------------------------------------------- resolving
    def resolve(self, module: str, name: str) -> object | None:
        """What ``name`` means in ``module``: a ModuleInfo, ClassInfo,
        (module, FunctionDef) pair, or None outside the project."""
        info = self.modules.get(module)
        if info is None:
            return None
        if name in info.functions:
            return (module, info.functions[name])
        if name in info.classes:
            return info.classes[name]
        target = info.imports.get(name)
        if target is None:
            return None
        return self.resolve_qualified(target)

    def resolve_qualified(self, qualified: str) -> object | None:
        if qualified in self.modules:
            return self.modules[qualified]
        module, _, symbol = qualified.rpartition(".")
        if module in self.modules:
            return self.resolve(module, symbol)
        return None

    def annotation_class(self, module: str, annotation: ast.expr | None) -> ClassInfo | None:
        """The project class an annotation names (``X``, ``X | None``, ``Optional[X]``)."""
        if annotation is None:
            return None
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            annotation = ast.parse(annotation.value, mode="eval").body
        if isinstance(annotation, ast.BinOp):
            return self.annotation_class(module, annotation.left) or self.annotation_class(
                module, annotation.right
            )
        if isinstance(annotation, ast.Subscript):
            return self.annotation_class(module, annotation.slice)
        found: object | None = None
        if isinstance(annotation, ast.Name):
            found = self.resolve(module, annotation.id)
        elif isinstance(annotation, ast.Attribute) and isinstance(annotation.value, ast.Name):
            owner = self.resolve(module, annotation.value.id)
            if isinstance(owner, ModuleInfo):
                found = self.resolve(owner.name, annotation.attr)
        # A Protocol (credreports.ports) stands for any implementation: its
        # methods have no body, so a call through it counts as a call of every
        # project method of that name.
        if isinstance(found, ClassInfo) and not _is_protocol(found.node):
            return found
        return None

    def classes(self) -> Iterator[ClassInfo]:
        for module in self.modules.values():
            yield from module.classes.values()

    def method(self, cls: ClassInfo, name: str) -> ast.FunctionDef | None:
        """``name`` on ``cls`` or its project base classes."""
        if name in cls.methods:
            return cls.methods[name]
        for base in cls.node.bases:
            base_class = self.annotation_class(cls.module, base)
            if base_class is not None:
                found = self.method(base_class, name)
                if found is not None:
                    return found
        return None

    # ------------------------------------------------------------ analysis
    def usage(self, handler: str) -> Usage:
        """The AWS operations reachable from ``handler`` ("producer.app.lambda_handler")."""
        module, _, function = handler.rpartition(".")
        start = self.resolve(module, function)
        if not isinstance(start, tuple):
            raise LookupError(f"{handler} is not a function of the project")
        walker = _Walker(self)
        walker.reach(start[0], start[1], None)
        walker.run()
        return Usage(frozenset(walker.operations))


class _Walker:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.pending: list[tuple[str, ast.FunctionDef, ClassInfo | None]] = []
        self.seen: set[int] = set()
        self.operations: set[tuple[str, str]] = set()

    def reach(self, module: str, node: ast.FunctionDef, owner: ClassInfo | None) -> None:
        if id(node) not in self.seen:
            self.seen.add(id(node))
            self.pending.append((module, node, owner))

    def reach_class(self, cls: ClassInfo) -> None:
        for name in ("__init__", "__post_init__"):
            method = self.project.method(cls, name)
            if method is not None:
                self.reach(cls.module, method, cls)

    def reach_by_name(self, name: str) -> None:
        if name in _BUILTIN_METHODS or name.startswith("__"):
            return
        for cls in self.project.classes():
            if name in cls.methods:
                self.reach(cls.module, cls.methods[name], cls)

    def run(self) -> None:
        while self.pending:
            module, node, owner = self.pending.pop()
            self.visit(module, node, owner)

    def visit(self, module: str, function: ast.FunctionDef, owner: ClassInfo | None) -> None:
        types = self._local_types(module, function, owner)
        if owner is not None and owner.service is not None:
            self._collect_operations(owner, function)
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self._reach_target(self.project.resolve(module, node.id))
            elif isinstance(node, ast.Attribute):
                self._visit_attribute(module, node, types, owner)

    def _visit_attribute(
        self,
        module: str,
        node: ast.Attribute,
        types: dict[str, ClassInfo],
        owner: ClassInfo | None,
    ) -> None:
        if isinstance(node.value, ast.Name):
            target = self.project.resolve(module, node.value.id)
            if isinstance(target, ModuleInfo):
                self._reach_target(self.project.resolve(target.name, node.attr))
                return
        receiver = self._type_of(module, node.value, types, owner)
        if receiver is not None and receiver.is_protocol:
            self.reach_by_name(node.attr)
            return
        if receiver is not None:
            method = self.project.method(receiver, node.attr)
            if method is not None:
                self.reach(receiver.module, method, receiver)
            return
        self.reach_by_name(node.attr)

    def _reach_target(self, target: object | None) -> None:
        if isinstance(target, tuple):
            self.reach(target[0], target[1], None)
        elif isinstance(target, ClassInfo):
            self.reach_class(target)

    def _local_types(
        self, module: str, function: ast.FunctionDef, owner: ClassInfo | None
    ) -> dict[str, ClassInfo]:
        types: dict[str, ClassInfo] = {}
        arguments = _arguments(function)
        if owner is not None and arguments and arguments[0].arg in {"self", "cls"}:
            types[arguments[0].arg] = owner
        for argument in arguments:
            cls = self.project.annotation_class(module, argument.annotation)
            if cls is not None:
                types[argument.arg] = cls
        # Two passes, so that x = f(); y = x.g() resolves in order of writing.
        for _ in range(2):
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    if isinstance(target, ast.Name):
                        cls = self._type_of(module, node.value, types, owner)
                        if cls is not None:
                            types[target.id] = cls
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    cls = self.project.annotation_class(module, node.annotation)
                    if cls is not None:
                        types[node.target.id] = cls
        return types

    def _type_of(
        self,
        module: str,
        expression: ast.expr,
        types: dict[str, ClassInfo],
        owner: ClassInfo | None,
    ) -> ClassInfo | None:
        project = self.project
        if isinstance(expression, ast.Name):
            return types.get(expression.id)
        if isinstance(expression, ast.Attribute):
            receiver = self._type_of(module, expression.value, types, owner)
            if receiver is not None:
                annotation = receiver.attributes.get(expression.attr)
                if annotation is not None:
                    return project.annotation_class(receiver.module, annotation)
                method = project.method(receiver, expression.attr)
                if method is not None and _is_property(method):
                    return project.annotation_class(receiver.module, method.returns)
            return None
        if isinstance(expression, ast.Call):
            callee = expression.func
            target: object | None = None
            if isinstance(callee, ast.Name):
                target = project.resolve(module, callee.id)
            elif isinstance(callee, ast.Attribute):
                if isinstance(callee.value, ast.Name):
                    owner_module = project.resolve(module, callee.value.id)
                    if isinstance(owner_module, ModuleInfo):
                        target = project.resolve(owner_module.name, callee.attr)
                if target is None:
                    receiver = self._type_of(module, callee.value, types, owner)
                    if receiver is not None:
                        method = project.method(receiver, callee.attr)
                        if method is not None:
                            return project.annotation_class(receiver.module, method.returns)
            if isinstance(target, ClassInfo):
                return target
            if isinstance(target, tuple):
                return project.annotation_class(target[0], target[1].returns)
        return None

    def _collect_operations(self, adapter: ClassInfo, function: ast.FunctionDef) -> None:
        assert adapter.service is not None
        operations = _service_operations(adapter.service)
        # Operations named by a string: a paginator's, or a method looked up
        # with getattr (the Organizations adapter pages itself).
        paginates = any(
            (isinstance(node, ast.Attribute) and node.attr == "get_paginator")
            or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
            )
            for node in ast.walk(adapter.node)
        )
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in operations
            ):
                self.operations.add((adapter.service, operations[node.func.attr]))
            elif (
                paginates
                and isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in operations
            ):
                self.operations.add((adapter.service, operations[node.value]))


def _arguments(function: ast.FunctionDef) -> list[ast.arg]:
    arguments = function.args
    return [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]


def _is_protocol(node: ast.ClassDef) -> bool:
    return any(
        (isinstance(base, ast.Name) and base.id == "Protocol")
        or (isinstance(base, ast.Attribute) and base.attr == "Protocol")
        for base in node.bases
    )


def _is_self_attribute(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def _is_property(function: ast.FunctionDef) -> bool:
    return any(
        isinstance(decorator, ast.Name) and decorator.id in {"property", "cached_property"}
        for decorator in function.decorator_list
    )
