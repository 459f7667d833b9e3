/*
 * llama-serve playground: the HTTP side. fetch + a ReadableStream reader + an SSE parser for
 * /v1/chat/completions, /v1/models, and API errors turned into readable messages. No DOM here.
 */
(function (global) {
  'use strict';

  /** An API error: HTTP status (0: network), OpenAI error fields, Retry-After seconds if any. */
  function ApiError(status, message, fields) {
    this.name = 'ApiError';
    this.status = status;
    this.message = message;
    this.type = fields && fields.type;
    this.code = fields && fields.code;
    this.param = fields && fields.param;
    this.retryAfter = fields && fields.retryAfter;
    this.midStream = !!(fields && fields.midStream);
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  /** One line for the user: "400 invalid_value (temperature): ... · retry after 2 s". */
  ApiError.prototype.describe = function () {
    var head = this.status ? String(this.status) : 'Network error';
    if (this.midStream) head = 'Error during generation';
    var what = [this.code, this.param ? '(' + this.param + ')' : null].filter(Boolean).join(' ');
    var text = head + (what ? ' ' + what : '') + ': ' + this.message;
    if (this.retryAfter != null) text += ' — retry after ' + this.retryAfter + ' s';
    if (this.status === 401) text += ' — enter a valid API key at the top right';
    return text;
  };

  function headers(apiKey, json) {
    var h = {};
    if (json) h['Content-Type'] = 'application/json';
    if (apiKey) h.Authorization = 'Bearer ' + apiKey;
    return h;
  }

  function retryAfterSeconds(response) {
    var v = response.headers.get('Retry-After');
    if (v == null || v === '') return null;
    if (/^\d+$/.test(v.trim())) return parseInt(v, 10);
    var date = Date.parse(v);
    return isNaN(date) ? v : Math.max(0, Math.round((date - Date.now()) / 1000));
  }

  /** Reads an error response (OpenAI error JSON or anything else) as an ApiError. */
  function errorFrom(response) {
    return response.text().then(function (text) {
      var fields = { retryAfter: retryAfterSeconds(response) };
      var message = text || response.statusText || 'HTTP ' + response.status;
      try {
        var body = JSON.parse(text);
        if (body && body.error) {
          message = String(body.error.message || message);
          fields.type = body.error.type;
          fields.code = body.error.code;
          fields.param = body.error.param;
        }
      } catch (ignored) { /* not JSON: show the text */ }
      return new ApiError(response.status, message, fields);
    });
  }

  function networkError(e) {
    return new ApiError(0, (e && e.message) || String(e), {});
  }

  /** GET /v1/models → the parsed list. */
  function models(apiKey) {
    return fetch('v1/models', { headers: headers(apiKey, false), cache: 'no-store' }).then(function (r) {
      if (!r.ok) return errorFrom(r).then(function (e) { throw e; });
      return r.json();
    }, function (e) { throw networkError(e); });
  }

  /**
   * Splits an SSE byte stream into events. feed() takes decoded text and returns the complete events
   * seen so far as {event, data}; comment lines (keep-alives) are dropped.
   */
  function SseParser() {
    this.buffer = '';
    this.cr = false;   // the text fed so far ended in \r: a \n at the start of the next is its CRLF's
  }
  SseParser.prototype.feed = function (text) {
    // lines end in CRLF, LF or CR, mixed as the spec allows: made LF here, a CRLF split across reads included
    if (this.cr && text.charAt(0) === '\n') text = text.slice(1);
    this.cr = text.charAt(text.length - 1) === '\r';
    this.buffer += text.replace(/\r\n?/g, '\n');
    var events = [];
    var m;
    var boundary = /\n\n/;
    while ((m = boundary.exec(this.buffer))) {
      var block = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      var event = 'message';
      var data = [];
      block.split('\n').forEach(function (line) {
        if (line === '' || line.charAt(0) === ':') return;
        var colon = line.indexOf(':');
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
      });
      if (data.length) events.push({ event: event, data: data.join('\n') });
    }
    return events;
  };

  /**
   * POSTs body to /v1/chat/completions and streams it. handlers: onDelta(text), onChunk(json) for
   * every chunk (finish_reason, usage, tool_calls). Resolves at [DONE]; rejects with an ApiError (HTTP error before the
   * stream, an error event in it, or its end before [DONE]: a response cut by a proxy is no finished answer),
   * or with the AbortError of signal. Only choice 0 is streamed (the page shows one answer).
   */
  function streamChat(body, apiKey, signal, handlers) {
    return fetch('v1/chat/completions', {
      method: 'POST', headers: headers(apiKey, true), body: JSON.stringify(body), signal: signal
    }).catch(function (e) {
      throw e && e.name === 'AbortError' ? e : networkError(e);
    }).then(function (response) {
      if (!response.ok) return errorFrom(response).then(function (e) { throw e; });
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var parser = new SseParser();
      var done = false;
      function handle(events) {
        events.forEach(function (ev) {
          if (done) return;
          if (ev.data === '[DONE]') { done = true; return; }
          var json;
          try { json = JSON.parse(ev.data); } catch (e) {
            throw new ApiError(0, 'Unreadable stream event', { midStream: true });
          }
          if (ev.event === 'error' || (json && json.error)) {
            var err = (json && json.error) || {};
            throw new ApiError(response.status, String(err.message || ev.data),
              { type: err.type, code: err.code, param: err.param, midStream: true });
          }
          handlers.onChunk(json);
          var choice = json.choices && json.choices[0];
          if (choice && (choice.index || 0) !== 0) return; // another of n choices: not this answer
          if (choice && choice.delta && typeof choice.delta.content === 'string' && choice.delta.content) {
            handlers.onDelta(choice.delta.content);
          }
        });
      }
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) {
            handle(parser.feed(decoder.decode() + '\n\n'));
            if (!done) throw new ApiError(response.status, 'the stream ended before [DONE]', { midStream: true });
            return;
          }
          handle(parser.feed(decoder.decode(r.value, { stream: true })));
          if (done) { reader.cancel().catch(function () {}); return; }
          return pump();
        });
      }
      return pump();
    });
  }

  global.LlamaApi = { models: models, streamChat: streamChat, SseParser: SseParser, ApiError: ApiError };
})(window);
