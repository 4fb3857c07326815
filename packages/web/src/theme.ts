/** Light and dark themes: the system's choice until the user picks one, which is remembered. */

const STORAGE_KEY = 'llm-monitor-theme';

/** A theme the page can show. */
export type Theme = 'light' | 'dark';

function stored(): Theme | null {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : null;
  } catch {
    return null;
  }
}

/** The theme in effect: the stored choice, else the system's preference. */
export function currentTheme(): Theme {
  return stored() ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

/** Shows `theme` and remembers it when `remember` is set. */
export function applyTheme(theme: Theme, remember = false): void {
  document.documentElement.dataset['theme'] = theme;
  if (!remember) return;
  try {
    localStorage.setItem(STORAGE_KEY, theme);
  } catch {
    // Storage may be off (private mode): the choice lasts for this page only.
  }
}
