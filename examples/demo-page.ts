// The page the demo server sends to browsers: a multi-room chat. It shows the room, who is
// here and the message log, and reconnects by itself (with backoff) when the server goes away.
// Presence needs no server state: a newcomer's join is answered by everyone with a "here".

export const demoPage = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>prise chat</title>
<style>
  :root { --bg: #f4f1ea; --card: #fff; --ink: #1d232a; --muted: #6b7280; --accent: #0f766e; --line: #e5e0d6; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--ink); }
  header { display: flex; align-items: center; gap: .75rem; padding: .75rem 1rem; background: var(--accent); color: #fff; }
  header h1 { margin: 0; font-size: 1.15rem; font-weight: 650; }
  header .room { font-weight: 400; opacity: .9; }
  #state { margin-left: auto; font-size: .8rem; padding: .15rem .6rem; border-radius: 1rem; background: rgba(255,255,255,.18); }
  #state.off { background: #b45309; }
  main { display: grid; grid-template-columns: 1fr 13rem; gap: 1rem; max-width: 60rem; margin: 1rem auto; padding: 0 1rem; }
  section, aside { background: var(--card); border: 1px solid var(--line); border-radius: .75rem; }
  #log { list-style: none; margin: 0; padding: .75rem 1rem; height: 60vh; overflow-y: auto; }
  #log li { margin: .35rem 0; overflow-wrap: anywhere; }
  #log .who { font-weight: 600; margin-right: .4rem; }
  #log .me .who { color: var(--accent); }
  #log .time { color: var(--muted); font-size: .75rem; margin-left: .4rem; }
  #log .info { color: var(--muted); font-style: italic; font-size: .9rem; }
  form#say { display: flex; gap: .5rem; padding: .75rem; border-top: 1px solid var(--line); }
  input { font: inherit; padding: .55rem .7rem; border: 1px solid var(--line); border-radius: .5rem; min-width: 0; }
  #text { flex: 1; }
  button { font: inherit; padding: .55rem 1rem; border: 0; border-radius: .5rem; background: var(--accent); color: #fff; cursor: pointer; }
  aside { padding: .75rem 1rem; }
  aside h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: .25rem 0 .5rem; }
  #people { list-style: none; margin: 0 0 1rem; padding: 0; }
  #people li::before { content: "●"; color: #22c55e; margin-right: .45rem; font-size: .7rem; vertical-align: middle; }
  form#join { display: grid; gap: .4rem; }
  @media (max-width: 40rem) {
    main { grid-template-columns: 1fr; gap: .5rem; margin: .5rem auto; padding: 0 .5rem; }
    aside { order: -1; padding: .5rem .75rem; }
    aside h2.room-title { display: none; }
    #people { display: flex; flex-wrap: wrap; gap: .15rem 1rem; margin-bottom: .5rem; }
    form#join { grid-template-columns: 1fr 1fr auto; }
    #log { height: calc(100vh - 16rem); min-height: 12rem; }
  }
</style>
<header><h1>prise chat <span class="room" id="room"></span></h1><span id="state" class="off">connecting…</span></header>
<main>
  <section>
    <ul id="log"></ul>
    <form id="say"><input id="text" placeholder="Say something…" autocomplete="off" maxlength="1000"><button>Send</button></form>
  </section>
  <aside>
    <h2>Here now</h2>
    <ul id="people"></ul>
    <h2 class="room-title">Room</h2>
    <form id="join"><input id="name-input" placeholder="your name" maxlength="24"><input id="room-input" placeholder="room" maxlength="32"><button>Join</button></form>
  </aside>
</main>
<script>
  const params = new URLSearchParams(location.search);
  const room = (params.get('room') || 'lobby').toLowerCase().replace(/[^a-z0-9-]/g, '') || 'lobby';
  const name = params.get('name') || localStorage.getItem('prise-name') || 'guest-' + Math.floor(Math.random() * 1000);
  const $ = (id) => document.getElementById(id);
  $('room').textContent = '#' + room;
  $('name-input').value = name;
  $('room-input').value = room;
  const people = new Map(); // id -> name
  let me = null, ws = null, delay = 500;

  function line(cls, who, text, at) {
    const li = document.createElement('li');
    li.className = cls;
    if (who) { const b = document.createElement('span'); b.className = 'who'; b.textContent = who; li.append(b); }
    li.append(document.createTextNode(text));
    if (at) { const t = document.createElement('span'); t.className = 'time'; t.textContent = new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); li.append(t); }
    const log = $('log');
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 10;
    log.append(li);
    if (atBottom) log.scrollTop = log.scrollHeight;
  }
  function renderPeople() {
    const list = $('people');
    list.replaceChildren(...[...people].map(([id, who]) => {
      const li = document.createElement('li');
      li.textContent = who + (id === me ? ' (you)' : '');
      return li;
    }));
  }
  function state(text, on) { $('state').textContent = text; $('state').className = on ? '' : 'off'; }

  function connect() {
    const url = new URL('/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = new URLSearchParams({ room, name });
    ws = new WebSocket(url, 'chat');
    ws.onopen = () => { delay = 500; state('connected', true); };
    ws.onmessage = (event) => {
      const m = JSON.parse(event.data);
      if (m.type === 'welcome') { me = m.id; people.clear(); people.set(me, m.name); renderPeople(); state('connected · ' + m.instance, true); return; }
      if (m.type === 'join') {
        if (m.id !== me) { ws.send(JSON.stringify({ type: 'here' })); line('info', '', m.name + ' joined'); }
        people.set(m.id, m.name);
      } else if (m.type === 'here') people.set(m.id, m.name);
      else if (m.type === 'leave') { people.delete(m.id); line('info', '', m.name + ' left'); }
      else if (m.type === 'say') line(m.id === me ? 'me' : '', m.name, m.text, m.at);
      renderPeople();
    };
    ws.onclose = () => {
      people.clear(); renderPeople();
      state('reconnecting…', false);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 5000);
    };
  }
  $('say').onsubmit = (event) => {
    event.preventDefault();
    const text = $('text').value.trim();
    if (text && ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify({ type: 'say', text })); $('text').value = ''; }
  };
  $('join').onsubmit = (event) => {
    event.preventDefault();
    localStorage.setItem('prise-name', $('name-input').value.trim());
    location.search = new URLSearchParams({ room: $('room-input').value.trim() || 'lobby', name: $('name-input').value.trim() || name });
  };
  line('info', '', 'Welcome to #' + room + '. Open this page in another tab to chat with yourself.');
  connect();
</script>
</html>
`;
