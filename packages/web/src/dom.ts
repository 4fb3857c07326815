/**
 * The one way the page makes elements. Everything that comes from a span (prompts, answers, stage
 * messages, errors, metadata) is untrusted: it only ever becomes a text node or an attribute value,
 * never markup. The lint setup forbids innerHTML and its relatives in this package.
 */
import { isGuardedAttribute, safeHref } from './url-safety.js';

/** A child: an element, or text (which stays text, whatever it contains). */
export type Child = Node | string | number | null | undefined | false;

/** Attributes and listeners of {@link h}. */
export interface Properties {
  readonly class?: string;
  readonly title?: string;
  readonly href?: string;
  readonly role?: string;
  readonly type?: string;
  readonly value?: string;
  readonly placeholder?: string;
  readonly download?: string;
  readonly style?: Readonly<Record<string, string>>;
  /** `data-*` and `aria-*` attributes, and any other plain attribute. */
  readonly attributes?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly on?: { readonly [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
}

/** Makes an element with text-only children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  properties: Properties = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (properties.class) element.className = properties.class;
  if (properties.title !== undefined) element.title = properties.title;
  if (properties.href !== undefined) element.setAttribute('href', safeHref(properties.href));
  if (properties.role) element.setAttribute('role', properties.role);
  if (properties.type) element.setAttribute('type', properties.type);
  if (properties.value !== undefined) (element as HTMLInputElement).value = properties.value;
  if (properties.placeholder !== undefined) element.setAttribute('placeholder', properties.placeholder);
  if (properties.download !== undefined) element.setAttribute('download', properties.download);
  for (const [name, value] of Object.entries(properties.style ?? {})) element.style.setProperty(name, value);
  for (const [name, value] of Object.entries(properties.attributes ?? {})) {
    if (value === undefined || value === false) continue;
    if (isGuardedAttribute(name)) throw new Error(`refusing attribute ${name}: set it through its checked property`);
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [event, listener] of Object.entries(properties.on ?? {})) element.addEventListener(event, listener as EventListener);
  for (const child of children) append(element, child);
  return element;
}

/** An SVG element (for the charts), with attributes only. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string | number>> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (isGuardedAttribute(name)) throw new Error(`refusing SVG attribute ${name}`);
    element.setAttribute(name, String(value));
  }
  for (const child of children) append(element, child);
  return element;
}

/** Replaces the children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  for (const child of children) append(parent, child);
}
