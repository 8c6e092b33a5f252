// The page the demo server sends to browsers: a text box, and a log of what comes back.

export const demoPage = `<!doctype html>
<meta charset="utf-8">
<title>prise demo</title>
<style>
  body { font: 16px system-ui, sans-serif; max-width: 40em; margin: 2em auto; }
  #log { border: 1px solid #ccc; padding: .5em; min-height: 10em; white-space: pre-wrap; }
  .in { color: #06c; } .out { color: #555; } .info { color: #a60; }
</style>
<h1>prise echo demo</h1>
<form id="form"><input id="text" size="40" value="héllo 👋" autofocus> <button>send</button>
  <button type="button" id="close">close</button></form>
<p id="state">connecting…</p>
<div id="log"></div>
<script>
  const log = (cls, text) => {
    const line = document.createElement('div');
    line.className = cls;
    line.textContent = text;
    document.getElementById('log').append(line);
  };
  const ws = new WebSocket('ws://' + location.host + '/ws', ['echo']);
  const state = document.getElementById('state');
  ws.onopen = () => (state.textContent = 'open, subprotocol: ' + ws.protocol);
  ws.onmessage = (event) => log('in', '← ' + event.data);
  ws.onclose = (event) => {
    state.textContent = 'closed';
    log('info', 'closed: code ' + event.code + ' ' + event.reason + (event.wasClean ? ' (clean)' : ''));
  };
  document.getElementById('form').onsubmit = (event) => {
    event.preventDefault();
    const text = document.getElementById('text').value;
    ws.send(text);
    log('out', '→ ' + text);
  };
  document.getElementById('close').onclick = () => ws.close(4000, 'bye from the page');
</script>
`;
