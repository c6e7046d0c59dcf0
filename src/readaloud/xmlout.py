"""Namespace-aware XML documents for the talking books, built and serialized by lxml.

`element` makes a root with its namespace map; `sub` adds a child in its parent's
namespace unless the name carries a known prefix ("epub:type", "xml:lang",
"dc:title"), which is resolved to its namespace. lxml escapes every text and
attribute and writes the declaration and DOCTYPE itself.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

Element = Any  # lxml's _Element: lxml ships no type information (lxml-stubs is a separate project)

XML = "http://www.w3.org/XML/1998/namespace"
XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
SMIL3 = "http://www.w3.org/ns/SMIL"
CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
PREFIXES = {"xml": XML, "epub": OPS, "dc": DC}


def _name(name: str, default: str | None) -> str:
    prefix, _, local = name.rpartition(":")
    if prefix:
        return f"{{{PREFIXES[prefix]}}}{local}"
    return f"{{{default}}}{name}" if default else name


def _attrs(attrs: dict[str, str] | None) -> dict[str, str]:
    return {_name(k, None): v for k, v in (attrs or {}).items()}


def element(
    tag: str, attrs: dict[str, str] | None = None, *, nsmap: dict[str | None, str] | None = None
) -> Element:
    """A root element; its tag is in the default namespace of nsmap, if there is one."""
    default = (nsmap or {}).get(None)
    return etree.Element(_name(tag, default), _attrs(attrs), nsmap=nsmap)


def sub(
    parent: Element,
    tag: str,
    attrs: dict[str, str] | None = None,
    text: str | None = None,
    *,
    nsmap: dict[str, str] | None = None,
) -> Element:
    """A child in its parent's namespace (or the one its prefix names), with its text."""
    name = _name(tag, etree.QName(parent).namespace)
    child = etree.SubElement(parent, name, _attrs(attrs), nsmap=nsmap)
    if text is not None:
        child.text = text
    return child


def serialize(root: Element, *, doctype: str | None = None) -> bytes:
    """UTF-8 with its XML declaration (and DOCTYPE), indented."""
    etree.indent(root, space=" ")
    data: bytes = etree.tostring(root, encoding="utf-8", xml_declaration=True, doctype=doctype)
    return data + b"\n"
