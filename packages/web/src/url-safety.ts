/** Which links and attributes the page may set from values. Pure, so it is tested in Node. */

const SAFE_URL = /^(#|\.\/|\/(?![/\\])|https?:\/\/)/i;
// Attributes whose value is a URL, markup or style: only the checked properties of h() may set them.
const URL_OR_MARKUP_ATTRIBUTES = /^(href|src|srcdoc|xlink:href|action|formaction|style|srcset|data)$/i;

/** An href the page built itself: a fragment, a same-origin path or an http(s) URL; nothing else (no `javascript:`). */
export function safeHref(url: string): string {
  // Browsers read a backslash as a slash: `/\evil.example` would leave the origin.
  return SAFE_URL.test(url) && !url.includes('\\') ? url : '#';
}

/** True for attributes a plain value must not set: event handlers (a value would become code) and URL, markup or style attributes. */
export function isGuardedAttribute(name: string): boolean {
  return /^on/i.test(name) || URL_OR_MARKUP_ATTRIBUTES.test(name);
}
