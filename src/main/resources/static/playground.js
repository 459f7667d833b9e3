/*
 * llama-serve playground: the page. Holds the conversation (kept in localStorage), sends it with
 * LlamaApi.streamChat, renders tokens as they arrive through LlamaMarkdown (DOM nodes, never HTML),
 * and shows time to first token, tokens per second and usage. Untrusted text (model output, error
 * messages, restored conversations) only ever reaches the page as text nodes.
 */
(function () {
  'use strict';

  var STORE = 'llama-serve.playground.v1';
  var KEY = 'llama-serve.playground.api-key';
  var $ = function (id) { return document.getElementById(id); };

  var state = load();
  var served = null; // the served model's card
  var running = null; // {controller}

  function load() {
    var fallback = { messages: [], settings: { system: '', model: '', temperature: 0.7, top_p: 1, max_tokens: 512 } };
    try {
      var saved = JSON.parse(localStorage.getItem(STORE));
      if (saved && Array.isArray(saved.messages) && saved.settings) return saved;
    } catch (ignored) { /* a broken entry: start afresh */ }
    return fallback;
  }

  function save() {
    try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (ignored) { /* full or disabled */ }
  }

  function apiKey() { return $('api-key').value.trim(); }

  // ---- settings -------------------------------------------------------------------------------

  function number(id) {
    var v = $(id).value.trim();
    return v === '' ? null : Number(v);
  }

  function readSettings() {
    var s = state.settings;
    s.system = $('system-prompt').value;
    s.model = $('model-input').value.trim();
    s.temperature = number('temperature');
    s.top_p = number('top-p');
    s.max_tokens = number('max-tokens');
    s.extra = $('extra').value;
    save();
  }

  function showSettings() {
    var s = state.settings;
    $('system-prompt').value = s.system || '';
    $('model-input').value = s.model || '';
    $('temperature').value = s.temperature == null ? '' : s.temperature;
    $('top-p').value = s.top_p == null ? '' : s.top_p;
    $('max-tokens').value = s.max_tokens == null ? '' : s.max_tokens;
    $('extra').value = s.extra || '';
    $('temperature-range').value = s.temperature == null ? 1 : s.temperature;
    $('top-p-range').value = s.top_p == null ? 1 : s.top_p;
  }

  function linkRange(numberId, rangeId) {
    $(rangeId).addEventListener('input', function () { $(numberId).value = $(rangeId).value; readSettings(); });
    $(numberId).addEventListener('input', function () {
      if ($(numberId).value !== '') $(rangeId).value = $(numberId).value;
      readSettings();
    });
  }

  // ---- the request ----------------------------------------------------------------------------

  /** The exact JSON body sent to /v1/chat/completions for the conversation (plus a pending message). */
  function buildRequest(pending) {
    var s = state.settings;
    var messages = [];
    if (s.system && s.system.trim()) messages.push({ role: 'system', content: s.system });
    state.messages.forEach(function (m) {
      if (m.role === 'assistant' && Array.isArray(m.toolCalls) && m.toolCalls.length) {
        // the model's own calls go back with the conversation, as OpenAI clients send them
        messages.push({ role: 'assistant', content: m.content || null, tool_calls: m.toolCalls.map(toolCall) });
      } else if ((m.role === 'user' || m.role === 'assistant') && m.content) {
        messages.push({ role: m.role, content: m.content });
      }
    });
    if (pending) messages.push({ role: 'user', content: pending });
    var body = { model: s.model || (served && served.id) || '', messages: messages, stream: true,
      stream_options: { include_usage: true } };
    if (s.temperature != null) body.temperature = s.temperature;
    if (s.top_p != null) body.top_p = s.top_p;
    if (s.max_tokens != null) body.max_tokens = s.max_tokens;
    var extra = extraFields();
    Object.keys(extra).forEach(function (k) { body[k] = extra[k]; });
    return body;
  }

  /** An answer's tool call as a request's assistant message carries it (its id as streamed, where there was one). */
  function toolCall(c) {
    return { id: c && typeof c.id === 'string' ? c.id : undefined, type: 'function',
      function: { name: String((c && c.name) || ''), arguments: String((c && c.arguments) || '') } };
  }

  /** The "extra parameters" object (seed, stop, top_k, ignore_eos, ...); throws a readable error if not one. */
  function extraFields() {
    var text = (state.settings.extra || '').trim();
    if (!text) return {};
    var value;
    try { value = JSON.parse(text); } catch (e) { throw new Error('Extra parameters are not valid JSON: ' + e.message); }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('Extra parameters must be a JSON object.');
    if (value.n != null && value.n !== 1) throw new Error('Extra parameters: the playground shows one answer, so n must be 1.');
    if (value.stream != null && value.stream !== true) throw new Error('Extra parameters: the playground streams, so stream must be true.');
    if (value.stream_options != null) throw new Error('Extra parameters: the playground sets stream_options itself.');
    return value;
  }

  function checkExtra() {
    try { extraFields(); $('extra-error').hidden = true; return true; } catch (e) {
      $('extra-error').textContent = e.message;
      $('extra-error').hidden = false;
      return false;
    }
  }

  function send(event) {
    if (event) event.preventDefault();
    if (running) return;
    readSettings();
    if (!checkExtra()) return;
    var text = $('prompt').value;
    var last = state.messages.filter(function (m) { return m.role !== 'error'; }).pop();
    if (!text.trim() && !(last && last.role === 'user')) return; // empty: resend an unanswered question only
    if (text.trim()) {
      state.messages.push({ role: 'user', content: text });
      $('prompt').value = '';
    }
    var body = buildRequest(null);
    var answer = { role: 'assistant', content: '' };
    state.messages.push(answer);
    save();
    var views = renderAll();
    var view = views[views.length - 1];
    scrollDown(true);

    var controller = new AbortController();
    running = { controller: controller };
    setRunning(true);
    $('stats').textContent = 'Waiting for the first token…';
    var t0 = performance.now();
    var tFirst = null;
    var chunks = 0;
    var usage = null;
    var finish = null;
    var pendingPaint = false;
    var ended = false;
    function paint() {
      pendingPaint = false;
      if (ended) return; // a frame requested before the end: the final rendering is already there
      view.setContent(answer.content, true, answer.toolCalls);
      $('stats').textContent = 'Generating · ' + chunks + ' tokens · ' + ((performance.now() - t0) / 1000).toFixed(1)
        + ' s · TTFT ' + Math.round(tFirst - t0) + ' ms';
      scrollDown(false);
    }
    LlamaApi.streamChat(body, apiKey(), controller.signal, {
      onDelta: function (delta) {
        if (tFirst == null) tFirst = performance.now();
        chunks++;
        answer.content += delta;
        if (!pendingPaint) { pendingPaint = true; requestAnimationFrame(paint); }
      },
      onChunk: function (json) {
        if (json.usage) usage = json.usage;
        var c = json.choices && json.choices[0];
        if (c && (c.index || 0) === 0 && c.finish_reason) finish = c.finish_reason;
        if (c && (c.index || 0) === 0 && c.delta && Array.isArray(c.delta.tool_calls)) {
          // the model called a tool (tools in Extra): shown as the calls, never dropped as an empty answer
          if (tFirst == null) tFirst = performance.now();
          answer.toolCalls = answer.toolCalls || [];
          c.delta.tool_calls.forEach(function (d) {
            var i = typeof d.index === 'number' ? d.index : answer.toolCalls.length;
            var call = answer.toolCalls[i] || (answer.toolCalls[i] = { name: '', arguments: '' });
            if (typeof d.id === 'string' && d.id) call.id = d.id;
            if (d.function && typeof d.function.name === 'string') call.name += d.function.name;
            if (d.function && typeof d.function.arguments === 'string') call.arguments += d.function.arguments;
          });
          if (!pendingPaint) { pendingPaint = true; requestAnimationFrame(paint); }
        }
      }
    }).then(function () {
      return null;
    }, function (e) {
      return e;
    }).then(function (error) {
      ended = true;
      var tEnd = performance.now();
      var stopped = error && error.name === 'AbortError';
      answer.stats = stats(t0, tFirst, tEnd, usage, chunks, stopped ? 'stopped' : finish);
      if (error && !stopped) {
        var message = error instanceof LlamaApi.ApiError ? error : new LlamaApi.ApiError(0, String(error), {});
        state.messages.push({ role: 'error', content: message.describe(), status: message.status });
      }
      // an answer without text is still an answer (e.g. the model's end-of-turn token came first): only an
      // error before any text takes the answer's place
      var failed = !!error && !stopped && !answer.content && !(answer.toolCalls && answer.toolCalls.length);
      if (failed) state.messages.splice(state.messages.indexOf(answer), 1);
      running = null;
      setRunning(false);
      save();
      renderAll();
      if (failed) $('stats').textContent = 'Request failed: see the error above';
      else showStats(answer.stats);
      // screen readers hear the end once (the conversation and the live stats are no live regions: re-rendered
      // every frame, they were read out again and again)
      $('announce').textContent = failed || (error && !stopped) ? 'The answer failed: see the error message.'
        : stopped ? 'Stopped.' : 'Answer finished.';
      scrollDown(true);
    });
  }

  function stop() {
    if (running) running.controller.abort();
  }

  function stats(t0, tFirst, tEnd, usage, chunks, finish) {
    var s = { ttft_ms: tFirst == null ? null : Math.round(tFirst - t0), total_ms: Math.round(tEnd - t0),
      finish: finish || null, chunks: chunks, usage: usage };
    var tokens = usage ? usage.completion_tokens : chunks;
    if (tFirst != null && tokens > 1 && tEnd > tFirst) s.tokens_per_s = (tokens - 1) / ((tEnd - tFirst) / 1000);
    return s;
  }

  function statsText(s) {
    if (!s) return '';
    var parts = [];
    parts.push('TTFT ' + (s.ttft_ms == null ? '—' : s.ttft_ms + ' ms'));
    parts.push((s.tokens_per_s == null ? '—' : s.tokens_per_s.toFixed(1)) + ' tok/s');
    if (s.usage) {
      parts.push(s.usage.prompt_tokens + ' prompt + ' + s.usage.completion_tokens + ' completion = '
        + s.usage.total_tokens + ' tokens');
    } else if (s.chunks) {
      parts.push('~' + s.chunks + ' tokens' + (s.finish === 'stopped' ? ' (no usage: stopped)' : ' (no usage)'));
    }
    parts.push((s.total_ms / 1000).toFixed(2) + ' s');
    if (s.finish) parts.push('finish: ' + s.finish);
    return parts.join(' · ');
  }

  /** The status line under the conversation: live progress while streaming, the last answer's figures after. */
  function showStats(s) {
    $('stats').textContent = s ? 'Last answer: ' + statsText(s) : 'Ready';
  }

  // ---- rendering ------------------------------------------------------------------------------

  function messageView(m) {
    var root = document.createElement('div');
    root.className = 'msg ' + (m.role === 'user' ? 'user' : m.role === 'error' ? 'error' : 'assistant');
    var head = document.createElement('div');
    head.className = 'msg-role';
    head.textContent = m.role === 'user' ? 'You' : m.role === 'error' ? 'Error' : 'Assistant';
    root.appendChild(head);
    var body = document.createElement('div');
    body.className = 'msg-body';
    root.appendChild(body);
    var foot = document.createElement('div');
    foot.className = 'msg-stats';
    root.appendChild(foot);
    function setContent(text, streaming, toolCalls) {
      while (body.firstChild) body.removeChild(body.firstChild);
      if (m.role === 'assistant') {
        try {
          body.appendChild(LlamaMarkdown.render(text));
        } catch (e) {
          // whatever the renderer cannot take is shown as text: one message must never break the page
          while (body.firstChild) body.removeChild(body.firstChild);
          body.textContent = text;
        }
        (Array.isArray(toolCalls) ? toolCalls : []).forEach(function (c) {
          var call = document.createElement('pre');
          call.className = 'tool-call';
          call.textContent = 'Tool call: ' + String(c && c.name) + '(' + String(c && c.arguments) + ')';
          body.appendChild(call);
        });
        root.classList.toggle('streaming', !!streaming);
      } else {
        body.textContent = text; // user text and error messages: plain text, newlines kept by CSS
      }
    }
    setContent(typeof m.content === 'string' ? m.content : JSON.stringify(m.content), false, m.toolCalls);
    foot.textContent = statsText(m.stats);
    root.classList.toggle('no-text', m.role === 'assistant' && !!m.stats && !m.content
      && !(m.toolCalls && m.toolCalls.length)); // ended without text
    return { root: root, setContent: setContent };
  }

  function renderAll() {
    var box = $('messages');
    Array.prototype.slice.call(box.querySelectorAll('.msg')).forEach(function (n) { box.removeChild(n); });
    $('empty-state').hidden = state.messages.length > 0;
    return state.messages.map(function (m) {
      var view = messageView(m);
      box.appendChild(view.root);
      return view;
    });
  }

  function scrollDown(force) {
    var box = $('messages');
    if (force || box.scrollHeight - box.scrollTop - box.clientHeight < 120) box.scrollTop = box.scrollHeight;
  }

  function setRunning(on) {
    $('send').disabled = on;
    $('stop').disabled = !on;
    document.body.classList.toggle('running', on);
  }

  // ---- model info -----------------------------------------------------------------------------

  function loadModels() {
    $('status-dot').className = 'status-dot';
    LlamaApi.models(apiKey()).then(function (list) {
      var cards = (list && list.data) || [];
      served = cards[0] || null;
      var names = $('model-list');
      while (names.firstChild) names.removeChild(names.firstChild);
      cards.forEach(function (c) {
        var o = document.createElement('option');
        o.value = c.id;
        names.appendChild(o);
      });
      if (!served) { $('model-name').textContent = 'No model served'; return; }
      $('status-dot').className = 'status-dot ok';
      $('model-name').textContent = served.id;
      // a model this server does not serve (saved while another one, e.g. the demo, was served) is replaced
      var known = cards.some(function (c) { return c.id === state.settings.model; });
      if (!state.settings.model || !known) { state.settings.model = served.id; $('model-input').value = served.id; save(); }
      if (served.max_model_len) {
        $('context-length').hidden = false;
        $('context-length').textContent = served.max_model_len.toLocaleString('en-US') + ' tokens context';
        $('max-tokens-hint').textContent = 'Prompt + completion must fit in ' +
          served.max_model_len.toLocaleString('en-US') + ' tokens. Empty: up to the context length.';
      }
      var demo = !!(served.llama_serve && served.llama_serve.demo);
      $('demo-banner').hidden = !demo;
      $('demo-model-id').textContent = served.id;
    }, function (e) {
      $('status-dot').className = 'status-dot bad';
      $('model-name').textContent = e instanceof LlamaApi.ApiError ? 'Model info unavailable — ' + e.describe()
        : 'Model info unavailable';
      // loading or draining (503 with Retry-After): ask again when the server says so
      if (e && typeof e.retryAfter === 'number') setTimeout(loadModels, Math.min(30, Math.max(1, e.retryAfter)) * 1000);
    });
  }

  // ---- export ---------------------------------------------------------------------------------

  function openExport() {
    readSettings();
    if (!checkExtra()) return;
    var pending = $('prompt').value.trim() ? $('prompt').value : null;
    var json = JSON.stringify(buildRequest(pending), null, 2);
    $('export-json').value = json;
    var url = location.origin + location.pathname.replace(/[^/]*$/, '') + 'v1/chat/completions';
    $('export-curl').value = 'curl -N ' + url + " \\\n  -H 'Content-Type: application/json'"
      + (apiKey() ? ' \\\n  -H "Authorization: Bearer $LLAMA_SERVE_API_KEY"' : '')
      + " \\\n  -d @- <<'JSON'\n" + json + '\nJSON';
    $('copied').hidden = true;
    $('export-dialog').showModal();
  }

  function copy(id) {
    var area = $(id);
    var done = function () { $('copied').hidden = false; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(done, function () { area.select(); });
    } else {
      area.select();
      try { if (document.execCommand('copy')) done(); } catch (ignored) { /* selected for a manual copy */ }
    }
  }

  // ---- wiring ---------------------------------------------------------------------------------

  function init() {
    var stored = sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || '';
    $('api-key').value = stored;
    $('remember-key').checked = !!localStorage.getItem(KEY);
    function storeKey() {
      sessionStorage.removeItem(KEY);
      localStorage.removeItem(KEY);
      if (apiKey()) ($('remember-key').checked ? localStorage : sessionStorage).setItem(KEY, apiKey());
    }
    $('api-key').addEventListener('change', function () { storeKey(); loadModels(); });
    $('remember-key').addEventListener('change', storeKey);

    showSettings();
    linkRange('temperature', 'temperature-range');
    linkRange('top-p', 'top-p-range');
    $('extra').addEventListener('change', checkExtra);
    ['system-prompt', 'model-input', 'max-tokens', 'extra'].forEach(function (id) { $(id).addEventListener('input', readSettings); });

    $('composer').addEventListener('submit', send);
    $('prompt').addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) send(e);
    });
    $('stop').addEventListener('click', stop);
    $('clear').addEventListener('click', function () {
      if (running) return;
      state.messages = [];
      save();
      renderAll();
      showStats(null);
    });
    $('export').addEventListener('click', openExport);
    $('export-close').addEventListener('click', function () { $('export-dialog').close(); });
    $('copy-json').addEventListener('click', function () { copy('export-json'); });
    $('copy-curl').addEventListener('click', function () { copy('export-curl'); });

    renderAll();
    var lastAnswer = state.messages.filter(function (m) { return m.stats; }).pop();
    showStats(lastAnswer && lastAnswer.stats);
    scrollDown(true);
    loadModels();
    $('prompt').focus();
  }

  init();
})();
