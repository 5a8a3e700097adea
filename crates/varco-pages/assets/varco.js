// Varco: the only script of our own (served as /static/varco.js). No dependencies.
// Submits, once the page has loaded, every form marked `data-autosubmit` (used to
// hand a POST on to the next step, e.g. an OIDC form_post); each such form should
// keep a visible submit button for browsers without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  var forms = document.querySelectorAll("form[data-autosubmit]");
  for (var i = 0; i < forms.length; i++) {
    forms[i].submit();
  }
});

// After a failed submit the page opens on its error summary: move the focus there,
// so that a screen reader reads it first.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
});

// Analisi del rischio (Fruizione > finalità): when an answer that other questions
// depend on changes, asks the server for the questions that now apply, exactly as
// the form's "Aggiorna" button does without JavaScript, and puts them in place;
// the answers given stay, focus stays on the field that changed.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-analisi-rischio]");
  if (!form || !window.fetch || !window.FormData || !window.DOMParser) {
    return;
  }
  var pending = null;
  function refresh(changedId) {
    var data = new FormData(form);
    data.set("azione", "aggiorna");
    var body = new URLSearchParams();
    data.forEach(function (value, key) { body.append(key, value); });
    if (pending) { pending.abort(); }
    pending = window.AbortController ? new AbortController() : null;
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      signal: pending ? pending.signal : undefined
    }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("ra-domande");
      var current = document.getElementById("ra-domande");
      if (!fresh || !current) { return; }
      current.replaceWith(fresh);
      var again = changedId && document.getElementById(changedId);
      if (again) { again.focus(); }
      var status = document.getElementById("ra-stato");
      if (status) { status.textContent = "Domande aggiornate in base alle risposte."; }
    }).catch(function () { /* the "Aggiorna" button still works */ });
  }
  form.addEventListener("change", function (e) {
    var q = e.target.closest ? e.target.closest("[data-question]") : null;
    if (q && q.hasAttribute("data-trigger")) {
      refresh(e.target.id);
    }
  });
  var live = document.createElement("p");
  live.id = "ra-stato";
  live.className = "visually-hidden";
  live.setAttribute("role", "status");
  form.insertBefore(live, form.firstChild);
});

// "Copia": buttons with data-copy="<id>" copy the text of the element with that id
// (an audience, an id). Without JavaScript the text stays selectable.
document.addEventListener("click", function (ev) {
  var button = ev.target.closest ? ev.target.closest("[data-copy]") : null;
  if (!button || !navigator.clipboard) {
    return;
  }
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (source) {
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.setAttribute("aria-label", "Copiato");
    });
  }
});
