/// <reference lib="dom" />
/**
 * The page's only way to make elements: text always goes in through `textContent`, never as
 * HTML, so a message like `<img src=x onerror=alert(1)>` shows as those characters.
 */

/** Options of `el`. */
export interface ElementOptions {
  readonly className?: string;
  readonly text?: string;
  readonly attrs?: Readonly<Record<string, string>>;
}

/** Creates an element with a class, text content and attributes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElementOptions = {},
  children: readonly Node[] = [],
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (options.className !== undefined) element.className = options.className;
  if (options.text !== undefined) element.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs ?? {})) {
    element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

/** The element with `id`, which the page's HTML must have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`The page has no element #${id}`);
  return element as T;
}

/** Shows or hides an element. */
export function show(element: HTMLElement, visible: boolean): void {
  element.hidden = !visible;
}

const AVATAR_COLOURS = 8;

/** A round avatar with the first character of `name`, coloured by the name. */
export function avatar(name: string, className = "avatar"): HTMLSpanElement {
  let hash = 0;
  for (const char of name.toLowerCase()) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  const first = Array.from(name)[0] ?? "?";
  return el("span", {
    className: `${className} avatar--c${hash % AVATAR_COLOURS}`,
    text: first.toUpperCase(),
    attrs: { "aria-hidden": "true" },
  });
}
