/** The page's header: its title, the controls the current view adds (views, connection, Log out), and the theme switch. */
import type { Child } from '../dom.js';
import { h } from '../dom.js';
import { applyTheme, currentTheme } from '../theme.js';

/** The button that switches between the light and the dark theme; it names the theme it switches to. */
export function themeButton(): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'ghost', attributes: { 'data-testid': 'theme-toggle' } });
  const show = (): void => {
    const next = currentTheme() === 'dark' ? 'light' : 'dark';
    button.textContent = next === 'dark' ? 'Dark theme' : 'Light theme';
    button.setAttribute('aria-label', `Switch to the ${next} theme`);
  };
  button.addEventListener('click', () => {
    applyTheme(currentTheme() === 'dark' ? 'light' : 'dark', true);
    show();
  });
  show();
  return button;
}

/** The header with `nav` (absent on the login form: the views need data) and `controls` before the theme switch. */
export function pageHeader(nav: HTMLElement | null, ...controls: Child[]): HTMLElement {
  return h(
    'header',
    { class: 'top' },
    h('h1', {}, 'LLM Processing Monitor'),
    nav,
    h('div', { class: 'top-right' }, ...controls, themeButton()),
  );
}
