// app.js — Timbre's web app: the shell (header, navigation), the router and
// the signed-in user. Views live in views/*.js; each one returns an element
// for <main> and fills it as its data arrives.

import { createApi } from './api.js';
import { h, toast, errorBox, loading, safeNext } from './ui.js';
import { loginView, signupView } from './views/auth.js';
import { myAgentsView, exploreView, agentView, importView } from './views/agents.js';
import { newAgentView } from './views/editor.js';
import { keysView } from './views/keys.js';
import { knowledgeListView, knowledgeBaseView } from './views/knowledge.js';
import { conversationsView, chatView } from './views/chat.js';
import { voicesView } from './views/voices.js';
import { talkView } from './views/talk.js';
import { forgetVoices } from './views/voice.js';

const routes = [
  { pattern: /^\/$/, view: homeView },
  { pattern: /^\/login$/, view: loginView, guest: true },
  { pattern: /^\/signup$/, view: signupView, guest: true },
  { pattern: /^\/explore$/, view: exploreView },
  { pattern: /^\/agents$/, view: myAgentsView, auth: true },
  { pattern: /^\/agents\/new$/, view: newAgentView, auth: true },
  { pattern: /^\/agents\/([^/]+)$/, view: agentView },
  { pattern: /^\/import$/, view: importView, auth: true },
  { pattern: /^\/keys$/, view: keysView, auth: true },
  { pattern: /^\/knowledge$/, view: knowledgeListView, auth: true },
  { pattern: /^\/knowledge\/([^/]+)$/, view: knowledgeBaseView, auth: true },
  { pattern: /^\/chat$/, view: conversationsView, auth: true },
  { pattern: /^\/chat\/([^/]+)$/, view: chatView, auth: true },
  { pattern: /^\/voices$/, view: voicesView, auth: true },
  // No sign-in: an embed token (?token=) lets an anonymous visitor talk.
  { pattern: /^\/talk\/([^/]+)$/, view: talkView },
];

const main = document.getElementById('main');
const header = document.getElementById('site-header');

/**
 * The app context every view receives: the API client, the signed-in user,
 * navigation, and a guard a view sets while it holds unsaved work.
 */
const app = {
  api: null,
  user: null,
  leaveGuard: null,
  path: location.pathname,
  navigate,
  setTitle(title) {
    document.title = title ? `${title} · Timbre` : 'Timbre';
  },
  setUser(user) {
    forgetVoices(); // the catalog holds the signed-in user's cloned voices
    app.user = user;
    renderHeader();
  },
  /** Re-reads the session (after sign-in) and updates the header. */
  async refreshUser() {
    app.setUser(await app.api.me());
    return app.user;
  },
};

app.api = createApi({
  onUnauthenticated() {
    if (!app.user) return;
    app.setUser(null);
    app.leaveGuard = null;
    toast('Your session has ended. Please sign in again.', 'error');
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  },
});

function homeView(ctx) {
  ctx.navigate(ctx.app.user ? '/agents' : '/explore', { replace: true });
  return h('div');
}

function notFoundView(ctx) {
  ctx.app.setTitle('Not found');
  return h('section', { class: 'page narrow' },
    h('h1', { tabindex: '-1' }, 'Page not found'),
    h('p', null, 'There is nothing at this address.'),
    h('p', null, h('a', { href: '/' }, 'Go to the start page')),
  );
}

/** Navigates to path inside the app, asking first when work is unsaved. */
async function navigate(path, { replace = false, force = false } = {}) {
  if (!force && app.leaveGuard && !(await app.leaveGuard())) return false;
  app.leaveGuard = null;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
  return true;
}

let renderCount = 0;
// What the view on screen asked to run when it is left (closing an event
// stream, say); each render starts a new list.
let leaving = [];
// The address of the page on screen, restored when a back button press is cancelled.
let shownPath = location.pathname + location.search;

function render() {
  for (const fn of leaving.splice(0)) {
    try {
      fn();
    } catch (err) {
      console.error(err);
    }
  }
  const cleanups = [];
  leaving = cleanups;
  renderCount += 1;
  const url = new URL(location.href);
  shownPath = url.pathname + url.search;
  app.path = url.pathname;
  let match = null;
  let route = null;
  for (const r of routes) {
    match = r.pattern.exec(url.pathname);
    if (match) {
      route = r;
      break;
    }
  }
  if (route && route.auth && !app.user) {
    navigate(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, { replace: true, force: true });
    return;
  }
  if (route && route.guest && app.user) {
    navigate(safeNext(url.searchParams.get('next')), { replace: true, force: true });
    return;
  }
  const ctx = {
    app,
    api: app.api,
    navigate,
    params: match ? match.slice(1).map(decodeURIComponent) : [],
    query: url.searchParams,
    /**
     * Runs fn when the user leaves this page. A view that registers after it
     * was already left (its data arrived late) has fn run at once.
     */
    onLeave(fn) {
      if (leaving === cleanups) cleanups.push(fn);
      else fn();
    },
  };
  const mine = renderCount;
  let node;
  try {
    node = (route ? route.view : notFoundView)(ctx);
  } catch (err) {
    console.error(err);
    node = h('section', { class: 'page' }, h('h1', { tabindex: '-1' }, 'Something went wrong'), errorBox(err));
  }
  if (mine !== renderCount) return; // the view redirected; the new page is already shown
  main.replaceChildren(node);
  markCurrentNav();
  if (renderCount > 1) {
    // Move focus to the new page so screen readers announce it; views that
    // load first have no heading yet, so main takes focus then.
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    } else {
      main.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
}

function renderHeader() {
  const user = app.user;
  const links = user
    ? [['/agents', 'My agents'], ['/chat', 'Chats'], ['/knowledge', 'Knowledge'], ['/voices', 'Voices'], ['/explore', 'Explore'], ['/import', 'Import'], ['/keys', 'API keys']]
    : [['/explore', 'Explore']];
  const nav = h('nav', { class: 'site-nav', 'aria-label': 'Main' },
    h('ul', null, links.map(([href, label]) => h('li', null, h('a', { href }, label)))),
  );
  let account;
  if (user) {
    const logout = h('button', { type: 'button', class: 'btn btn-ghost btn-small' }, 'Log out');
    logout.addEventListener('click', async () => {
      if (app.leaveGuard && !(await app.leaveGuard())) return;
      app.leaveGuard = null;
      logout.disabled = true;
      try {
        await app.api.logout();
      } catch (err) {
        toast(`Could not log out: ${err.message}`, 'error');
        logout.disabled = false;
        return;
      }
      app.setUser(null);
      toast('You are logged out.');
      navigate('/explore', { force: true });
    });
    account = h('div', { class: 'account' },
      h('span', { class: 'user-name', title: user.email }, h('span', { class: 'visually-hidden' }, 'Signed in as '), user.display_name),
      logout,
    );
  } else {
    account = h('div', { class: 'account' },
      h('a', { href: '/login', class: 'btn btn-ghost btn-small' }, 'Log in'),
      h('a', { href: '/signup', class: 'btn btn-primary btn-small' }, 'Sign up'),
    );
  }
  header.replaceChildren(
    h('div', { class: 'header-inner' },
      h('a', { href: '/', class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'Timbre'),
      nav,
      account,
    ),
  );
  markCurrentNav();
}

function markCurrentNav() {
  for (const a of header.querySelectorAll('.site-nav a')) {
    const href = a.getAttribute('href');
    const current = app.path === href || (['/agents', '/knowledge', '/chat'].includes(href) && app.path.startsWith(`${href}/`));
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// In-app links: same-origin <a href> outside /api/ navigate without a reload.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download') || a.getAttribute('href').startsWith('#')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  e.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});

window.addEventListener('popstate', async () => {
  const target = location.pathname + location.search;
  if (app.leaveGuard) {
    // Put the old address back while asking; go on only if the user agrees.
    history.pushState(null, '', shownPath);
    if (!(await app.leaveGuard())) return;
    app.leaveGuard = null;
    history.replaceState(null, '', target);
  }
  render();
});

window.addEventListener('beforeunload', (e) => {
  if (app.leaveGuard) {
    e.preventDefault();
    e.returnValue = '';
  }
});

async function start() {
  renderHeader();
  main.replaceChildren(loading('Starting Timbre…'));
  try {
    app.user = await app.api.me();
  } catch (err) {
    main.replaceChildren(
      h('section', { class: 'page narrow' },
        h('h1', null, 'Timbre is unavailable'),
        errorBox(err, () => start()),
      ),
    );
    return;
  }
  renderHeader();
  render();
}

start();
