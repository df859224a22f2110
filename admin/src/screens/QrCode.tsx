// The enrolment's QR code, an SVG document from the server. The page's policy
// (default-src 'self') refuses it as an <img> of a data: or blob: address, so it is
// rebuilt here element by element from a short list of shapes and attributes: no script,
// link, style or event handler can pass.
import { useEffect, useRef } from 'react';

const SVG_NS = 'http://www.w3.org/2000/svg';
const ELEMENTS = new Set(['svg', 'g', 'path', 'rect']);
const ATTRIBUTES = new Set(['width', 'height', 'viewBox', 'd', 'x', 'y', 'fill', 'stroke', 'stroke-width', 'transform', 'shape-rendering']);

function copy(source: Element): Element | null {
  const name = source.localName;
  if (!ELEMENTS.has(name)) return null;
  const out = document.createElementNS(SVG_NS, name);
  for (const attribute of Array.from(source.attributes)) {
    if (ATTRIBUTES.has(attribute.name) && !/url\(|javascript:/i.test(attribute.value)) out.setAttribute(attribute.name, attribute.value);
  }
  for (const child of Array.from(source.children)) {
    const copied = copy(child);
    if (copied) out.appendChild(copied);
  }
  return out;
}

/** The sanitised SVG, or null when the markup holds no SVG at all. */
export function sanitizedSvg(markup: string): Element | null {
  const parsed = new DOMParser().parseFromString(markup, 'image/svg+xml');
  if (parsed.getElementsByTagName('parsererror').length) return null;
  return copy(parsed.documentElement);
}

export default function QrCode({ svg, label }: { svg: string; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    element.replaceChildren();
    const clean = sanitizedSvg(svg);
    if (clean) {
      clean.setAttribute('role', 'img');
      clean.setAttribute('aria-label', label);
      element.appendChild(clean);
    }
  }, [svg, label]);
  return <div className="qr" ref={host} />;
}
