// views/auth.js — sign up and log in.

import { h, field, clearFieldErrors, showFormError, busy, toast, safeNext } from '../ui.js';

/** The log-in page. */
export function loginView(ctx) {
  ctx.app.setTitle('Log in');
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  return authForm(ctx, {
    title: 'Log in to Timbre',
    lead: 'Build, publish and share talking agents.',
    fields: [field('Email', email, { field: 'email' }), field('Password', password, { field: 'password' })],
    submit: 'Log in',
    pending: 'Logging in…',
    alt: h('p', { class: 'auth-alt' }, 'New here? ', h('a', { href: withNext('/signup', ctx) }, 'Create an account')),
    send: () => ctx.api.login({ email: email.value.trim(), password: password.value }),
    done: 'Welcome back.',
  });
}

/** The sign-up page. */
export function signupView(ctx) {
  ctx.app.setTitle('Sign up');
  const name = h('input', { type: 'text', name: 'display_name', autocomplete: 'name', required: true, maxlength: '80' });
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'email', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: '8' });
  return authForm(ctx, {
    title: 'Create your Timbre account',
    lead: 'Your agents stay private until you choose to share them.',
    fields: [
      field('Display name', name, { field: 'display_name', hint: 'Shown in the header; up to 80 characters.' }),
      field('Email', email, { field: 'email' }),
      field('Password', password, { field: 'password', hint: 'At least 8 characters.' }),
    ],
    submit: 'Create account',
    pending: 'Creating account…',
    alt: h('p', { class: 'auth-alt' }, 'Already have an account? ', h('a', { href: withNext('/login', ctx) }, 'Log in')),
    send: () => ctx.api.signup({ display_name: name.value.trim(), email: email.value.trim(), password: password.value }),
    done: 'Your account is ready.',
  });
}

function withNext(path, ctx) {
  const next = ctx.query.get('next');
  return next ? `${path}?next=${encodeURIComponent(next)}` : path;
}

function authForm(ctx, { title, lead, fields, submit, pending, alt, send, done }) {
  const alert = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, submit);
  // novalidate: the API's messages are shown next to the fields instead of
  // the browser's bubbles, so every error looks the same.
  const form = h('form', { class: 'stack', novalidate: true }, alert, fields, button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    alert.hidden = true;
    try {
      await busy(button, pending, async () => {
        await send();
        await ctx.app.refreshUser();
      });
    } catch (err) {
      showFormError(form, alert, err);
      return;
    }
    toast(done, 'success');
    ctx.navigate(safeNext(ctx.query.get('next')), { replace: true, force: true });
  });
  return h('section', { class: 'auth-page' },
    h('div', { class: 'card auth-card' },
      h('h1', null, title),
      h('p', { class: 'lead' }, lead),
      form,
      alt,
    ),
  );
}
