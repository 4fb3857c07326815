/**
 * The login form, shown instead of the monitor when the receiver asks for a read token. The token
 * field has no `name`, and the form posts, so that even a submission the script did not stop could
 * never put the token into a URL; the field is emptied as soon as the token is read, so the token does
 * not stay in the DOM.
 */
import { h, replaceChildren } from '../dom.js';
import { normaliseToken, tokenProblem } from '../auth.js';
import type { LoginResult } from '../auth.js';

/** Options of {@link loginView}. */
export interface LoginViewOptions {
  /** Tries the token; the view says what came of it. */
  readonly login: (token: string) => Promise<LoginResult>;
  /** Called once the token was accepted. */
  readonly onLoggedIn: () => void;
  /** Why the form shows again (the session ended, the user logged out), if there is something to say. */
  readonly notice?: string;
}

/** The login section; `focus()` puts the cursor into the token field. */
export function loginView(options: LoginViewOptions): { element: HTMLElement; focus(): void } {
  const input = h('input', {
    type: 'password',
    attributes: {
      id: 'login-token',
      autocomplete: 'off',
      autocapitalize: 'off',
      spellcheck: 'false',
      required: true,
      'aria-describedby': 'login-hint login-error',
      'data-testid': 'login-token',
    },
  });
  const button = h('button', { type: 'submit', class: 'primary', attributes: { 'data-testid': 'login-submit' } }, 'Log in');
  const error = h('div', { attributes: { id: 'login-error', 'data-testid': 'login-error' } });

  const showError = (text: string | undefined): void => {
    replaceChildren(error, text === undefined ? null : h('div', { class: 'error-box', role: 'alert' }, text));
    if (text === undefined) input.removeAttribute('aria-invalid');
    else input.setAttribute('aria-invalid', 'true');
  };
  const busy = (on: boolean): void => {
    input.disabled = on;
    button.disabled = on;
    button.textContent = on ? 'Logging in…' : 'Log in';
    form.setAttribute('aria-busy', String(on));
  };

  const form = h(
    'form',
    {
      class: 'login-form',
      attributes: { method: 'post', 'aria-labelledby': 'login-title', 'data-testid': 'login-form', novalidate: true },
      on: {
        submit: (event) => {
          // First of all: whatever happens below, the browser must not submit the form itself.
          event.preventDefault();
          const token = normaliseToken(input.value);
          input.value = '';
          // Said here rather than sent: the receiver would refuse it anyway, with a less helpful message.
          const problem = tokenProblem(token);
          if (problem !== undefined) {
            showError(problem);
            input.focus();
            return;
          }
          showError(undefined);
          busy(true);
          void options
            .login(token)
            .then((result) => {
              if (result.ok) {
                options.onLoggedIn();
                return;
              }
              showError(result.refused ? `The token was not accepted: ${result.message}` : `Could not log in: ${result.message}`);
              busy(false);
              input.focus();
            })
            .catch((failure: unknown) => {
              showError(`Could not log in: ${(failure as Error).message}`);
              busy(false);
              input.focus();
            });
        },
      },
    },
    h('label', { attributes: { for: 'login-token' } }, 'Read token'),
    input,
    h('p', { class: 'login-hint', attributes: { id: 'login-hint' } }, 'Kept in this browser tab only, until you log out or close the tab.'),
    error,
    button,
  );

  const element = h(
    'section',
    { class: 'login-view', attributes: { 'aria-labelledby': 'login-title', 'data-testid': 'login-view' } },
    h('h2', { attributes: { id: 'login-title' } }, 'Log in to the monitor'),
    h(
      'p',
      { class: 'login-intro' },
      'This receiver shows its sessions only to those with a read token. Ask whoever runs it for one (its ',
      h('code', {}, 'read_tokens'),
      ' setting).',
    ),
    options.notice ? h('p', { class: 'notice', role: 'status', attributes: { 'data-testid': 'login-notice' } }, options.notice) : null,
    form,
  );
  return { element, focus: () => input.focus() };
}
